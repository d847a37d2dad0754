import {
  ApiError,
  type GatewayMethod,
  type GatewayMethodParams,
  type GatewaySyncStatus,
  type LocalAgent,
  type SessionSummary,
  type StoredMessage,
} from '@multiclaw/protocol';
import type { ConfigFile } from '../config/config-file.js';
import type { GatewayConfig } from '../config/schema.js';
import type { LinkStatus } from '../link/cloud-link.js';
import type { WorkspaceAgents } from '../link/workspace-agents.js';
import { createRecordingMethods, type RecordingMethodDeps } from '../recordings/recording-methods.js';
import { findAgent, refuseWorkspaceAgentEdit } from '../runs/credentials.js';
import type { RunOutcome, RunService } from '../runs/run-service.js';
import type { LocalStore } from '../store/local-store.js';
import { toProtocolError } from './protocol-errors.js';
import { defaultAgentId, MAIN_KEY, resolveSessionRef } from './session-refs.js';

export interface MethodDeps extends Pick<RecordingMethodDeps, 'recordings' | 'extension'> {
  config: ConfigFile;
  store: LocalStore;
  runs: RunService;
  version: string;
  startedAt: number;
  /** The workspace agents held from the cloud link: listed beside local ones, read-only here. */
  workspaceAgents?: WorkspaceAgents;
  link?: { status(): LinkStatus };
  sync?: { status(): GatewaySyncStatus };
}

/**
 * A method that answers twice under one request id (OpenClaw's `agent`):
 * `payload` at once, then what `final` settles to (an error frame if it rejects).
 */
export class TwoPartAnswer {
  constructor(
    readonly payload: unknown,
    readonly final: Promise<unknown>,
  ) {}
}

type Handlers = { [M in GatewayMethod]: (params: GatewayMethodParams<M>) => Promise<unknown> };

/** How long `agent` waits for its final answer when the client sets no `timeout`. */
const AGENT_DEFAULT_TIMEOUT_MS = 600_000;
const AGENT_WAIT_DEFAULT_MS = 30_000;

/** What each control-protocol method does, on already-validated params (OpenClaw's result shapes). */
export function createMethodHandlers(deps: MethodDeps): Handlers {
  const config = () => deps.config.current();
  const resolve = async (ref: string, agentId?: string) =>
    resolveSessionRef(ref, { agentId, config: await config(), store: deps.store });

  return {
    health: async () => health(deps, await config()),
    status: async () => {
      const current = await config();
      return {
        runtimeVersion: deps.version,
        version: deps.version,
        pid: process.pid,
        uptimeMs: Date.now() - deps.startedAt,
        agents: current.agents.list.length + (deps.workspaceAgents?.size ?? 0),
        providers: Object.keys(current.models.providers).length,
        sessions: (await deps.store.listSessions({ limit: 1 })).total,
        link: deps.link?.status() ?? { state: 'not linked' },
        ...(deps.sync ? { sync: deps.sync.status() } : {}),
      };
    },
    'agents.list': async () => {
      const current = await config();
      return {
        defaultId: defaultAgentId(current),
        mainKey: MAIN_KEY,
        scope: 'per-sender',
        agents: [
          ...current.agents.list.map((agent) => ({
            id: agent.id,
            name: agent.name,
            model: { primary: agent.model },
          })),
          // A workspace agent's id is its cloud id; local ids win if one ever collides.
          ...(deps.workspaceAgents?.list() ?? [])
            .filter((agent) => !current.agents.list.some((local) => local.id === agent.id))
            .map((agent) => ({
              id: agent.id,
              name: agent.name,
              model: { primary: `${agent.provider}/${agent.model}` },
            })),
        ],
      };
    },
    'agents.create': async ({ name, model }) => {
      if (!model)
        throw new ApiError('VALIDATION_FAILED', 'An agent needs a model', {
          issues: [{ path: 'model', message: 'required: "<provider id>/<model name>"' }],
        });
      const id = agentIdFromName(name);
      if ((await config()).agents.list.some((agent) => agent.id === id))
        throw new ApiError('VALIDATION_FAILED', `An agent "${id}" exists already`, {
          issues: [{ path: 'name', message: `agent id "${id}" is taken` }],
        });
      await upsertAgent(deps.config, { id, name, model });
      return { ok: true, agentId: id, name, workspace: deps.store.dir, model };
    },
    'agents.update': async ({ agentId, name, model }) => {
      refuseWorkspaceAgentEdit(await config(), agentId, deps.workspaceAgents);
      const agent = findAgent(await config(), agentId);
      await upsertAgent(deps.config, { ...agent, ...(name ? { name } : {}), ...(model ? { model } : {}) });
      return { ok: true, agentId };
    },
    'agents.delete': async ({ agentId }) => {
      refuseWorkspaceAgentEdit(await config(), agentId, deps.workspaceAgents);
      return { ok: true, agentId, removedBindings: await deleteAgent(deps.config, agentId) };
    },
    agent: async (params) => {
      const current = await config();
      const target = await resolveSessionRef(params.sessionKey ?? MAIN_KEY, {
        agentId: params.agentId,
        config: current,
        store: deps.store,
      });
      const acceptedAt = Date.now();
      const started = await deps.runs.send({
        agentId: target.agentId,
        sessionKey: target.key,
        message: params.message,
        idempotencyKey: params.idempotencyKey,
      });
      const timeoutMs = params.timeout ? params.timeout * 1000 : AGENT_DEFAULT_TIMEOUT_MS;
      const final = outcomeOf(deps, started.runId, started.sessionKey, timeoutMs).then((outcome) => {
        if (!outcome)
          throw new ApiError('REQUEST_TIMEOUT', 'The run did not finish in time; agent.wait can wait longer');
        if (outcome.status !== 'complete')
          throw outcome.error ?? new ApiError('SERVICE_UNAVAILABLE', `The run ended ${outcome.status}`);
        return {
          runId: started.runId,
          status: 'ok',
          summary: 'completed',
          result: {
            payloads: [{ text: outcome.text }],
            meta: { durationMs: Date.now() - acceptedAt, agentMeta: { sessionKey: started.sessionKey } },
          },
        };
      });
      return new TwoPartAnswer(
        {
          runId: started.runId,
          sessionKey: started.sessionKey,
          agentId: target.agentId,
          status: 'accepted',
          acceptedAt,
        },
        final,
      );
    },
    'agent.wait': async ({ runId, timeoutMs }) => {
      const outcome = await deps.runs.wait(runId, timeoutMs ?? AGENT_WAIT_DEFAULT_MS);
      if (!outcome) return { runId, status: 'timeout' };
      if (outcome.status === 'complete')
        return {
          runId,
          status: 'ok',
          stopReason: 'stop',
          endedAt: Date.now(),
          terminalReply: { disposition: 'visible', text: outcome.text },
        };
      return {
        runId,
        status: 'error',
        error: outcome.error ? toProtocolError(outcome.error).message : `The run ended ${outcome.status}`,
      };
    },
    'chat.send': async (params) => {
      const target = await resolve(params.sessionKey, params.agentId);
      return deps.runs.send({
        agentId: target.agentId,
        sessionKey: target.key,
        message: params.message,
        idempotencyKey: params.idempotencyKey,
      });
    },
    'chat.history': async ({ sessionKey, agentId, limit, cursor }) => {
      const target = await resolve(sessionKey, agentId);
      if (!target.session) return { sessionKey: target.key, messages: [] };
      const page = await deps.store.history(target.key, {
        limit: limit ?? 200,
        before: cursor === undefined ? undefined : Number(cursor),
      });
      return {
        sessionKey: target.key,
        sessionId: deps.store.sessionIdOf(target.key),
        messages: page.messages.map(historyMessage),
        ...(page.nextBefore ? { nextCursor: String(page.nextBefore) } : {}),
      };
    },
    'chat.abort': async ({ sessionKey, agentId, runId }) => {
      const target = await resolve(sessionKey, agentId);
      const aborted = deps.runs.abort(target.key, runId);
      return { ok: true, aborted, runIds: aborted && runId ? [runId] : [] };
    },
    'sessions.list': async (params) => {
      const limit = params?.limit ?? 50;
      const offset = params?.offset ?? 0;
      const page = await deps.store.listSessions({
        agentId: params?.agentId,
        search: params?.search,
        limit,
        offset,
      });
      const nextOffset = offset + page.sessions.length;
      return {
        ts: Date.now(),
        path: deps.store.dir,
        count: page.sessions.length,
        totalCount: page.total,
        limitApplied: limit,
        hasMore: nextOffset < page.total,
        ...(nextOffset < page.total ? { nextOffset } : {}),
        sessions: page.sessions.map((session) => sessionRow(deps.store, session)),
      };
    },
    'sessions.get': async ({ key, agentId, limit }) => {
      const target = await resolve(key, agentId);
      if (!target.session) return { key: target.key, messages: [] };
      const page = await deps.store.history(target.key, { limit: limit ?? 1000 });
      return {
        key: target.key,
        sessionId: deps.store.sessionIdOf(target.key),
        messages: page.messages.map(historyMessage),
      };
    },
    'sessions.describe': async ({ key, agentId }) => {
      const target = await resolve(key, agentId);
      if (!target.session) throw new ApiError('NOT_FOUND', `No session "${target.key}"`);
      return { key: target.key, session: sessionRow(deps.store, target.session) };
    },
    'sessions.delete': async ({ key, agentId }) => {
      const target = await resolve(key, agentId);
      if (!target.session) return { ok: true, key: target.key, deleted: false, archived: [] };
      refuseWhileRunning(deps.runs, target.key);
      await deps.store.deleteSession(target.key);
      return { ok: true, key: target.key, deleted: true, archived: [] };
    },
    'sessions.reset': async ({ key, agentId }) => {
      const target = await resolve(key, agentId);
      refuseWhileRunning(deps.runs, target.key);
      const session = target.session
        ? await deps.store.resetSession(target.key)
        : await deps.store.createSession(target.agentId, '', new Date(), target.key);
      return { ok: true, key: session.key, entry: sessionRow(deps.store, session) };
    },
    'multiclaw.agents.get': async ({ agentId }) => ({
      agent: findAgent(await config(), agentId, deps.workspaceAgents),
    }),
    'multiclaw.agents.upsert': async ({ agent }) => {
      refuseWorkspaceAgentEdit(await config(), agent.id, deps.workspaceAgents);
      return { agent: await upsertAgent(deps.config, agent) };
    },
    ...createRecordingMethods(deps),
  };
}

/**
 * OpenClaw's health summary: the parts of its schema that describe us (no
 * channels or plugins; heartbeats, which we do not have, reported disabled),
 * with each agent's sessions, which OpenClaw's `openclaw health` prints.
 */
export async function health(deps: Pick<MethodDeps, 'store'>, config: GatewayConfig) {
  const started = Date.now();
  const defaultId = defaultAgentId(config);
  const sessionsOf = async (agentId?: string) => {
    const { sessions, total } = await deps.store.listSessions({ agentId, limit: 5 });
    return {
      path: deps.store.dir,
      count: total,
      recent: sessions.map((session) => {
        const updatedAt = Date.parse(session.updatedAt);
        return { key: session.key, updatedAt, age: Math.max(0, started - updatedAt) };
      }),
    };
  };
  const agents = await Promise.all(
    config.agents.list.map(async (agent) => ({
      agentId: agent.id,
      name: agent.name,
      isDefault: agent.id === defaultId,
      heartbeat: { enabled: false, every: 'off', everyMs: null, prompt: '', target: 'none', ackMaxChars: 0 },
      sessions: await sessionsOf(agent.id),
    })),
  );
  return {
    ok: true,
    ts: started,
    defaultAgentId: defaultId,
    agents,
    sessions: await sessionsOf(),
    durationMs: Date.now() - started,
  };
}

function sessionRow(store: LocalStore, session: SessionSummary) {
  return {
    key: session.key,
    sessionId: store.sessionIdOf(session.key),
    agentId: session.agentId,
    label: session.title,
    displayName: session.title,
    createdAt: Date.parse(session.createdAt),
    updatedAt: Date.parse(session.updatedAt),
    messageCount: session.messageCount,
    ...(session.damaged ? { damaged: true } : {}),
  };
}

/** A stored message as OpenClaw's transcripts show it: assistant text as content parts. */
function historyMessage(message: StoredMessage) {
  return {
    role: message.role,
    content: message.role === 'assistant' ? [{ type: 'text', text: message.content }] : message.content,
    timestamp: Date.parse(message.createdAt),
    id: message.id,
    seq: message.seq,
    ...(message.runId ? { runId: message.runId } : {}),
    ...(message.status ? { status: message.status } : {}),
    ...(message.error ? { errorMessage: message.error.message } : {}),
  };
}

/** How a run ended: from memory while the process remembers it, else from its stored reply. */
async function outcomeOf(
  deps: MethodDeps,
  runId: string,
  sessionKey: string,
  timeoutMs: number,
): Promise<RunOutcome | undefined> {
  const outcome = await deps.runs.wait(runId, timeoutMs);
  if (outcome) return outcome;
  const { messages } = await deps.store.history(sessionKey, { limit: 200 });
  const reply = messages.findLast((message) => message.runId === runId && message.role === 'assistant');
  return reply ? { status: reply.status ?? 'complete', text: reply.content, message: reply } : undefined;
}

function refuseWhileRunning(runs: RunService, sessionKey: string): void {
  if (runs.isBusy(sessionKey))
    throw new ApiError('SESSION_BUSY', 'A run is in progress in this session; abort it first');
}

/** An agent id from a display name, the way OpenClaw derives one: lower-case, dashes for the rest. */
export function agentIdFromName(name: string): string {
  const id = name
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^[-_]+|-+$/g, '')
    .slice(0, 64);
  if (!id)
    throw new ApiError('VALIDATION_FAILED', 'The name gives no usable agent id', {
      issues: [{ path: 'name', message: 'needs at least one letter or digit' }],
    });
  return id;
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

/**
 * Deleting an agent also withdraws its credential grants and its opt-in to
 * transcript sync (`sync.agents`), so a later agent with the same id starts
 * with neither. Answers how many grants were withdrawn.
 */
async function deleteAgent(config: ConfigFile, agentId: string): Promise<number> {
  let withdrawn = 0;
  await config.update((current) => {
    findAgent(current, agentId);
    withdrawn = 0;
    const providers = Object.fromEntries(
      Object.entries(current.models.providers).map(([id, provider]) => {
        const allowedAgents = provider.allowedAgents.filter((allowed) => allowed !== agentId);
        withdrawn += provider.allowedAgents.length - allowedAgents.length;
        return [id, { ...provider, allowedAgents }];
      }),
    );
    return {
      ...current,
      agents: { ...current.agents, list: current.agents.list.filter((agent) => agent.id !== agentId) },
      models: { ...current.models, providers },
      ...(current.sync
        ? { sync: { ...current.sync, agents: current.sync.agents.filter((synced) => synced !== agentId) } }
        : {}),
    };
  });
  return withdrawn;
}
