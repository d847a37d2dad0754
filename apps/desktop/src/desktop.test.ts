import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { GATEWAY_VERSION } from '@multiclaw/gateway';
import { type DesktopCommand, type DesktopCommandOutput, ErrorEnvelope } from '@multiclaw/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeProvider, startFakeOpenAI, streamReply } from '../../gateway/test/fake-providers/index.js';
import { openEvents, startTestDesktop, type TestDesktop } from '../test/support/desktop.js';

/**
 * What a person does on their own machine, through the host, against a real
 * gateway (in this process) and a local server speaking OpenAI's wire format.
 */
const FIRST_KEY = 'sk-desktop-first-8c1f0a9e2b';
const SECOND_KEY = 'sk-desktop-second-77d3e5c1aa';

let t: TestDesktop;
let provider: FakeProvider;
/** Every answer the host gave in this file, to prove no key ever comes back. */
const answers: string[] = [];

async function call(command: string, input: unknown = {}) {
  const answer = await t.call(command, input);
  answers.push(JSON.stringify(answer.body));
  return answer;
}
async function ok<C extends DesktopCommand>(
  command: C,
  input: unknown = {},
): Promise<DesktopCommandOutput<C>> {
  const answer = await call(command, input);
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer.body as DesktopCommandOutput<C>;
}

beforeAll(async () => {
  provider = await startFakeOpenAI(streamReply(['Hello', ', ', 'world']));
  t = await startTestDesktop();
});
afterAll(async () => {
  await t.close();
  await provider.close();
});

describe('the local experience through the host', () => {
  it('reports the running gateway: version, port, not linked', async () => {
    const status = await ok('gateway.status');
    expect(status).toMatchObject({
      state: 'running',
      port: t.gateway?.port,
      url: `http://127.0.0.1:${t.gateway?.port}`,
      version: GATEWAY_VERSION,
      pid: process.pid,
      link: { state: 'not linked' },
    });
    expect(await ok('gateway.start')).toEqual({ outcome: 'running' });
  });

  it('adds a provider whose key is stored in openclaw.json and never answered back', async () => {
    const added = await ok('providers.add', {
      id: 'openai',
      api: 'openai-completions',
      baseUrl: provider.baseUrl,
      apiKey: FIRST_KEY,
    });
    expect(added).toEqual({
      provider: {
        id: 'openai',
        api: 'openai-completions',
        baseUrl: provider.baseUrl,
        hasKey: true,
        allowedAgents: [],
      },
    });
    expect((await t.config.current()).models.providers.openai?.apiKey).toBe(FIRST_KEY);
    expect(await ok('providers.list')).toEqual({ providers: [added.provider] });
    expect(
      (await call('providers.add', { id: 'openai', api: 'openai-completions', baseUrl: provider.baseUrl }))
        .body,
    ).toMatchObject({
      error: { code: 'DESKTOP_PROVIDER_EXISTS' },
    });
  });

  it('creates, reads, lists and edits a local agent through the gateway', async () => {
    const created = await ok('agents.create', {
      name: 'Helper',
      model: 'openai/gpt-test',
      systemPrompt: 'Be brief.',
    });
    expect(created.agent).toEqual({
      id: 'helper',
      name: 'Helper',
      model: 'openai/gpt-test',
      systemPrompt: 'Be brief.',
    });
    expect((await ok('agents.get', { agentId: 'helper' })).agent.systemPrompt).toBe('Be brief.');
    const listed = await ok('agents.list');
    expect(listed.agents).toEqual([
      { id: 'helper', name: 'Helper', model: 'openai/gpt-test', editable: true },
    ]);

    const renamed = await ok('agents.update', { agentId: 'helper', name: 'Helper Two', maxTokens: 256 });
    expect(renamed.agent).toEqual({
      id: 'helper',
      name: 'Helper Two',
      model: 'openai/gpt-test',
      systemPrompt: 'Be brief.',
      maxTokens: 256,
    });
    const cleared = await ok('agents.update', { agentId: 'helper', systemPrompt: null, maxTokens: null });
    expect(cleared.agent).toEqual({ id: 'helper', name: 'Helper Two', model: 'openai/gpt-test' });

    const missing = await call('agents.create', { name: 'Orphan', model: 'nowhere/model' });
    expect(ErrorEnvelope.parse(missing.body).error.code).toBe('AGENT_PROVIDER_MISSING');
    const taken = await call('agents.create', { name: 'Helper', model: 'openai/gpt-test' });
    expect(ErrorEnvelope.parse(taken.body).error.code).toBe('VALIDATION_FAILED');
  });

  it('scopes the key to the agent', async () => {
    const scoped = await ok('providers.scope', { id: 'openai', allowedAgents: ['helper', 'helper'] });
    expect(scoped.provider.allowedAgents).toEqual(['helper']);
  });

  it('chats: the reply streams over the event stream, reaches history and the sessions list', async () => {
    const events = await openEvents(t.desktop);
    const sent = await ok('chat.send', { agentId: 'helper', message: 'Hi there' });
    expect(sent.status).toBe('started');
    expect(sent.sessionKey).toMatch(/^agent:helper:desktop-/);
    const final = await events.next('chat.final', (event) => event.payload.runId === sent.runId);
    expect(final.payload).toMatchObject({
      sessionKey: sent.sessionKey,
      agentId: 'helper',
      text: 'Hello, world',
    });
    const deltas = events.events.filter(
      (event) => event.type === 'chat.delta' && event.payload.runId === sent.runId,
    );
    expect(deltas.map((event) => (event.type === 'chat.delta' ? event.payload.delta : ''))).toEqual([
      'Hello',
      ', ',
      'world',
    ]);
    expect(deltas.map((event) => (event.type === 'chat.delta' ? event.payload.text : '')).at(-1)).toBe(
      'Hello, world',
    );
    // The scoped key went to the provider, from the gateway.
    expect(provider.requests.at(-1)?.headers.authorization).toBe(`Bearer ${FIRST_KEY}`);
    events.close();

    const history = await ok('chat.history', { sessionKey: sent.sessionKey });
    expect(history.messages.map((message) => [message.role, message.text])).toEqual([
      ['user', 'Hi there'],
      ['assistant', 'Hello, world'],
    ]);
    const found = await ok('sessions.list', { search: 'Hi there' });
    expect(found.sessions.map((session) => session.key)).toContain(sent.sessionKey);
    expect((await ok('sessions.list', { search: 'no conversation says this' })).sessions).toEqual([]);
  });

  it('stops a streaming reply', async () => {
    provider.setScript(streamReply(['one ', 'two ', 'three ', 'four ', 'five '], { chunkDelayMs: 400 }));
    const events = await openEvents(t.desktop);
    const sent = await ok('chat.send', { agentId: 'helper', message: 'Count slowly' });
    await events.next('chat.delta', (event) => event.payload.runId === sent.runId);
    expect(await ok('chat.abort', { sessionKey: sent.sessionKey, runId: sent.runId })).toEqual({
      aborted: true,
    });
    const aborted = await events.next('chat.aborted', (event) => event.payload.runId === sent.runId);
    expect(aborted.payload.reason).toBe('aborted');
    expect(
      events.events.some((event) => event.type === 'chat.final' && event.payload.runId === sent.runId),
    ).toBe(false);
    events.close();
    provider.setScript(streamReply(['Hello', ', ', 'world']));
  });

  it('reports a provider failure on the event stream in plain words, with our code', async () => {
    provider.setScript({ kind: 'error', status: 500 });
    const events = await openEvents(t.desktop);
    const sent = await ok('chat.send', { agentId: 'helper', message: 'Will this fail?' });
    const failed = await events.next('chat.error', (event) => event.payload.runId === sent.runId);
    expect(failed.payload.code).toBe('PROVIDER_UNAVAILABLE');
    expect(failed.payload.message.length).toBeGreaterThan(0);
    events.close();
    const history = await ok('chat.history', { sessionKey: sent.sessionKey });
    expect(history.messages.at(-1)).toMatchObject({ role: 'assistant', status: 'error' });
    provider.setScript(streamReply(['Hello', ', ', 'world']));
  });

  it('replaces the key (the next run uses it) without ever answering it', async () => {
    const replaced = await ok('providers.replaceKey', { id: 'openai', apiKey: SECOND_KEY });
    expect(replaced.provider.hasKey).toBe(true);
    const events = await openEvents(t.desktop);
    const sent = await ok('chat.send', { agentId: 'helper', message: 'Again' });
    await events.next('chat.final', (event) => event.payload.runId === sent.runId);
    expect(provider.requests.at(-1)?.headers.authorization).toBe(`Bearer ${SECOND_KEY}`);
    events.close();
  });

  it('refuses to remove a provider an agent uses; deleting the agent withdraws its grant', async () => {
    const refused = await call('providers.remove', { id: 'openai' });
    expect(refused.status).toBe(409);
    expect(ErrorEnvelope.parse(refused.body).error.code).toBe('DESKTOP_PROVIDER_IN_USE');
    expect(await ok('agents.delete', { agentId: 'helper' })).toEqual({ agentId: 'helper', removedGrants: 1 });
    expect((await ok('agents.list')).agents).toEqual([]);
    const cleared = await ok('providers.clearKey', { id: 'openai' });
    expect(cleared.provider).toMatchObject({ hasKey: false, allowedAgents: [] });
    expect((await t.config.current()).models.providers.openai?.apiKey).toBeUndefined();
    expect(await ok('providers.remove', { id: 'openai' })).toEqual({ id: 'openai' });
    expect(await ok('providers.list')).toEqual({ providers: [] });
    expect((await call('providers.replaceKey', { id: 'openai', apiKey: 'sk-x' })).status).toBe(404);
  });

  it('keeps settings: the cloud URL and local-only mode in a private file, allowed origins in openclaw.json', async () => {
    expect(await ok('settings.get')).toEqual({ cloudUrl: null, localOnly: false, gatewayAllowedOrigins: [] });
    const updated = await ok('settings.update', {
      cloudUrl: 'https://cloud.example.com',
      localOnly: true,
      gatewayAllowedOrigins: ['http://127.0.0.1:1420'],
    });
    expect(updated).toEqual({
      cloudUrl: 'https://cloud.example.com',
      localOnly: true,
      gatewayAllowedOrigins: ['http://127.0.0.1:1420'],
    });
    expect((await t.config.current()).gateway.allowedOrigins).toEqual(['http://127.0.0.1:1420']);
    const settingsPath = t.desktop.paths.settingsPath;
    expect(JSON.parse(await readFile(settingsPath, 'utf8'))).toEqual({
      cloudUrl: 'https://cloud.example.com',
      localOnly: true,
    });
    expect((await stat(settingsPath)).mode & 0o777).toBe(0o600);
    expect((await stat(t.desktop.paths.stateDir)).mode & 0o777).toBe(0o700);
    expect(await ok('settings.update', { cloudUrl: null })).toMatchObject({
      cloudUrl: null,
      localOnly: true,
    });
    expect((await ok('settings.update', { cloudUrl: 'http://127.0.0.1:8080' })).cloudUrl).toBe(
      'http://127.0.0.1:8080',
    );
  });

  it('says where crash logs are kept', async () => {
    expect(await ok('diagnostics.crashLogs')).toEqual({
      desktop: { dir: join(t.desktop.paths.stateDir, 'crash'), files: [] },
      gateway: { dir: join(t.openclawDir, 'crash'), files: [] },
    });
  });

  it('never answered a key, and no log line of the host or the gateway holds one', () => {
    for (const key of [FIRST_KEY, SECOND_KEY]) {
      expect(answers.join('\n')).not.toContain(key);
      expect(t.logs.raw.join('')).not.toContain(key);
      expect(t.gatewayLogs?.raw.join('')).not.toContain(key);
    }
    expect(answers.length).toBeGreaterThan(20);
  });
});

describe('without a gateway', () => {
  let alone: TestDesktop;
  beforeAll(async () => {
    alone = await startTestDesktop({ gateway: false });
  });
  afterAll(async () => {
    await alone.close();
  });

  it('says the gateway is stopped and why, and commands that need it answer 503', async () => {
    const status = await alone.call('gateway.status');
    expect(status.body).toMatchObject({
      state: 'stopped',
      reason: expect.stringContaining('nothing answered'),
    });
    const agents = await alone.call('agents.list');
    expect(agents.status).toBe(503);
    expect(ErrorEnvelope.parse(agents.body).error.code).toBe('DESKTOP_GATEWAY_UNAVAILABLE');
  });
});
