import { randomUUID } from 'node:crypto';
import type { Agent } from '@multiclaw/protocol';
import { describe, expect, it } from 'vitest';
import { defaultGatewayConfig, type GatewayConfig } from '../config/schema.js';
import { WorkspaceAgents } from '../link/workspace-agents.js';
import { findAgent, refuseWorkspaceAgentEdit, resolveAgentModel, withAgentDefaults } from './credentials.js';

const at = '2026-11-30T12:00:00.000Z';

function agent(overrides: Partial<Agent> = {}): Agent {
  return {
    id: randomUUID(),
    name: 'Researcher',
    description: null,
    provider: 'openai',
    model: 'gpt-test',
    systemPrompt: 'Cite sources.',
    params: { maxTokens: 300 },
    tools: [],
    secretIds: [],
    version: 1,
    createdAt: at,
    updatedAt: at,
    ...overrides,
  };
}

const secret = (id: string, name: string, value: string) => ({ id, name, version: 1, agentIds: [], value });

function holding(agents: Agent[], secrets: ReturnType<typeof secret>[] = []): WorkspaceAgents {
  const held = new WorkspaceAgents();
  held.setAgents({ version: 1, agents });
  held.setSecrets({ secrets });
  return held;
}

const config = (edit: (config: GatewayConfig) => GatewayConfig = (c) => c) => edit(defaultGatewayConfig());

const refusal = (work: () => unknown) => {
  try {
    work();
    return undefined;
  } catch (error) {
    return error as { code: string; message: string };
  }
};

describe('a workspace agent’s run credentials', () => {
  it('uses its only granted secret, the public API of its kind, and its own settings', () => {
    const secretId = randomUUID();
    const researcher = agent({ secretIds: [secretId] });
    const resolved = resolveAgentModel(
      config(),
      researcher.id,
      holding([researcher], [secret(secretId, 'anything', 'sk-ws')]),
    );
    expect(resolved).toMatchObject({
      source: 'workspace',
      providerId: 'openai',
      model: 'gpt-test',
      apiKey: 'sk-ws',
      provider: { api: 'openai-completions', baseUrl: 'https://api.openai.com/v1', apiKey: 'sk-ws' },
      agent: { id: researcher.id, systemPrompt: 'Cite sources.', maxTokens: 300 },
    });
    const poet = agent({ provider: 'anthropic', secretIds: [secretId] });
    expect(
      resolveAgentModel(config(), poet.id, holding([poet], [secret(secretId, 'k', 'sk-ant')])).provider,
    ).toMatchObject({
      api: 'anthropic-messages',
      baseUrl: 'https://api.anthropic.com',
    });
  });

  it('takes the base URL of the gateway’s own provider entry of the same id, never that entry’s key', () => {
    const secretId = randomUUID();
    const local = agent({ provider: 'openai-compatible', secretIds: [secretId] });
    const withEntry = config((c) => ({
      ...c,
      models: {
        providers: {
          'openai-compatible': {
            api: 'openai-completions',
            baseUrl: 'http://127.0.0.1:11434/v1',
            apiKey: 'local-key-for-local-agents',
            allowedAgents: [],
          },
        },
      },
    }));
    const resolved = resolveAgentModel(
      withEntry,
      local.id,
      holding([local], [secret(secretId, 'k', 'sk-granted')]),
    );
    expect(resolved.provider.baseUrl).toBe('http://127.0.0.1:11434/v1');
    expect(resolved.apiKey).toBe('sk-granted');
    // Without the entry an openai-compatible agent has nowhere to go: said plainly.
    expect(
      refusal(() => resolveAgentModel(config(), local.id, holding([local], [secret(secretId, 'k', 'v')]))),
    ).toMatchObject({
      code: 'GATEWAY_WORKSPACE_AGENT_UNAVAILABLE',
      message: expect.stringContaining('models.providers["openai-compatible"]'),
    });
  });

  it('with several grants takes the one named for its provider, else refuses saying which name', () => {
    const [a, b] = [randomUUID(), randomUUID()];
    const researcher = agent({ secretIds: [a, b] });
    const named = holding(
      [researcher],
      [secret(a, 'SEARCH_KEY', 'search'), secret(b, 'OPENAI_API_KEY', 'sk-named')],
    );
    expect(resolveAgentModel(config(), researcher.id, named).apiKey).toBe('sk-named');
    const unnamed = holding([researcher], [secret(a, 'ONE', '1'), secret(b, 'TWO', '2')]);
    expect(refusal(() => resolveAgentModel(config(), researcher.id, unnamed))?.message).toMatch(
      /2 secrets.*OPENAI_API_KEY/,
    );
  });

  it('refuses clearly with no grant, or before the value has arrived', () => {
    const bare = agent();
    expect(refusal(() => resolveAgentModel(config(), bare.id, holding([bare])))).toMatchObject({
      code: 'GATEWAY_WORKSPACE_AGENT_UNAVAILABLE',
      message: expect.stringContaining('no vault secret is granted'),
    });
    const waiting = agent({ secretIds: [randomUUID()] });
    expect(refusal(() => resolveAgentModel(config(), waiting.id, holding([waiting])))?.message).toMatch(
      /has not arrived/,
    );
  });

  it('once dropped (revoke, unlink), the agent and its value are gone and a run is told why', () => {
    const secretId = randomUUID();
    const researcher = agent({ secretIds: [secretId] });
    const held = holding([researcher], [secret(secretId, 'k', 'sk-ws')]);
    expect(resolveAgentModel(config(), researcher.id, held).apiKey).toBe('sk-ws');
    held.drop('this gateway was revoked by its workspace');
    expect(held.secret(secretId)).toBeUndefined();
    expect(held.list()).toEqual([]);
    expect(refusal(() => resolveAgentModel(config(), researcher.id, held))).toMatchObject({
      code: 'GATEWAY_WORKSPACE_AGENT_UNAVAILABLE',
      message: expect.stringContaining('revoked by its workspace'),
    });
    // An unknown local-looking id is still just not found.
    expect(refusal(() => findAgent(config(), 'nobody', held))?.code).toBe('NOT_FOUND');
  });

  it('carries the agent’s temperature and top_p as defaults the request may override, setting by setting', () => {
    const secretId = randomUUID();
    const tuned = agent({ secretIds: [secretId], params: { temperature: 0.2, topP: 0.9 } });
    const resolved = resolveAgentModel(config(), tuned.id, holding([tuned], [secret(secretId, 'k', 'v')]));
    expect(resolved.sampling).toEqual({ temperature: 0.2, topP: 0.9 });
    expect(withAgentDefaults(resolved.sampling, undefined)).toEqual({ temperature: 0.2, topP: 0.9 });
    expect(withAgentDefaults(resolved.sampling, { temperature: 1, topP: undefined, maxTokens: 5 })).toEqual({
      temperature: 1,
      topP: 0.9,
      maxTokens: 5,
    });
    expect(withAgentDefaults(undefined, { temperature: 1 })).toEqual({ temperature: 1 });
  });

  it('is read-only locally: an edit of a workspace agent is refused, a local agent’s is not', () => {
    const researcher = agent();
    const held = holding([researcher]);
    expect(refusal(() => refuseWorkspaceAgentEdit(config(), researcher.id, held))).toMatchObject({
      code: 'FORBIDDEN',
      message: expect.stringContaining('read-only'),
    });
    const withLocal = config((c) => ({
      ...c,
      agents: { list: [{ id: 'main', name: 'Main', model: 'openai/gpt' }] },
    }));
    expect(refusal(() => refuseWorkspaceAgentEdit(withLocal, 'main', held))).toBeUndefined();
  });
});
