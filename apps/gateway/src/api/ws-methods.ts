import { ApiError, type GatewayMethod, type GatewayMethodParams, type LocalAgent } from '@multiclaw/protocol';
import type { ConfigFile } from '../config/config-file.js';
import { findAgent } from '../runs/credentials.js';
import type { RunService } from '../runs/run-service.js';
import type { LocalStore } from '../store/local-store.js';

export interface MethodDeps {
  config: ConfigFile;
  store: LocalStore;
  runs: RunService;
  version: string;
  startedAt: number;
}

type Handlers = { [M in GatewayMethod]: (params: GatewayMethodParams<M>) => Promise<unknown> };

/** What each control-protocol method does, on already-validated params. */
export function createMethodHandlers(deps: MethodDeps): Handlers {
  return {
    health: async () => {
      const config = await deps.config.current();
      return {
        ok: true,
        version: deps.version,
        uptimeMs: Date.now() - deps.startedAt,
        agents: config.agents.list.length,
        providers: Object.keys(config.models.providers).length,
      };
    },
    'agents.list': async () => ({ agents: (await deps.config.current()).agents.list }),
    'agents.get': async ({ agentId }) => ({ agent: findAgent(await deps.config.current(), agentId) }),
    'agents.upsert': async ({ agent }) => ({ agent: await upsertAgent(deps.config, agent) }),
    'agents.delete': async ({ agentId }) => {
      await deleteAgent(deps.config, agentId);
      return { deleted: true };
    },
    'sessions.list': async (params) => deps.store.listSessions(params ?? {}),
    'sessions.history': async ({ sessionKey, before, limit }) =>
      deps.store.history(sessionKey, { before, limit }),
    'chat.send': async (params) => deps.runs.send(params),
    'chat.abort': async ({ sessionKey, runId }) => ({ aborted: deps.runs.abort(sessionKey, runId) }),
  };
}

async function upsertAgent(config: ConfigFile, agent: LocalAgent): Promise<LocalAgent> {
  const providerId = agent.model.slice(0, agent.model.indexOf('/'));
  await config.update((current) => {
    if (!Object.hasOwn(current.models.providers, providerId)) {
      throw new ApiError(
        'AGENT_PROVIDER_MISSING',
        `Provider "${providerId}" is not configured under models.providers`,
      );
    }
    const list = current.agents.list.filter((existing) => existing.id !== agent.id);
    const index = current.agents.list.findIndex((existing) => existing.id === agent.id);
    list.splice(index === -1 ? list.length : index, 0, agent);
    return { ...current, agents: { ...current.agents, list } };
  });
  return agent;
}

/** Deleting an agent also withdraws its credential grants, so a later agent with the same id starts with none. */
async function deleteAgent(config: ConfigFile, agentId: string): Promise<void> {
  await config.update((current) => {
    findAgent(current, agentId);
    const providers = Object.fromEntries(
      Object.entries(current.models.providers).map(([id, provider]) => [
        id,
        { ...provider, allowedAgents: provider.allowedAgents.filter((allowed) => allowed !== agentId) },
      ]),
    );
    return {
      ...current,
      agents: { ...current.agents, list: current.agents.list.filter((agent) => agent.id !== agentId) },
      models: { ...current.models, providers },
    };
  });
}
