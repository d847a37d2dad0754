import { createHash, randomUUID } from 'node:crypto';
import {
  ApiError,
  type ChatEvent,
  type ChatSendResult,
  type GatewayErrorShape,
  type StoredMessage,
} from '@multiclaw/protocol';
import type { ConfigFile } from '../config/config-file.js';
import type { Egress } from '../egress/egress.js';
import { isAbortError } from '../providers/errors.js';
import type { ChatTurn, CompletionResult, StreamCompletion } from '../providers/types.js';
import type { LocalStore } from '../store/local-store.js';
import { resolveAgentModel } from './credentials.js';
import type { IdempotencyLog } from './idempotency-log.js';

/** How much of a session's history is sent to the model with each new message. */
const HISTORY_TURNS = 200;

export interface RunServiceDeps {
  config: ConfigFile;
  store: LocalStore;
  idempotency: IdempotencyLog;
  egress: Egress;
  streamCompletion: StreamCompletion;
  log: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
  now?: () => Date;
}

interface ActiveRun {
  runId: string;
  sessionKey: string;
  controller: AbortController;
  done: Promise<void>;
}

export type ChatEventListener = (event: ChatEvent) => void;

/**
 * Agent runs: stores the user's message, streams the agent's reply from its
 * provider (with only that agent's credential), emits `chat` events, and
 * stores the reply however the run ends (complete, aborted or failed).
 */
export class RunService {
  private readonly active = new Map<string, ActiveRun>();
  private readonly listeners = new Set<ChatEventListener>();
  private readonly now: () => Date;

  constructor(private readonly deps: RunServiceDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  onChatEvent(listener: ChatEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async send(params: {
    agentId: string;
    sessionKey?: string | undefined;
    message: string;
    idempotencyKey: string;
  }): Promise<ChatSendResult> {
    const requestHash = createHash('sha256')
      .update(JSON.stringify([params.agentId, params.sessionKey ?? null, params.message]))
      .digest('hex');
    const seen = this.deps.idempotency.get(params.idempotencyKey);
    if (seen) {
      if (seen.requestHash !== requestHash) {
        throw new ApiError('IDEMPOTENCY_KEY_REUSED', 'This idempotency key was used for a different message');
      }
      const inFlight = this.active.get(seen.sessionKey)?.runId === seen.runId;
      return { runId: seen.runId, sessionKey: seen.sessionKey, status: inFlight ? 'in_flight' : 'done' };
    }

    const config = await this.deps.config.current();
    const resolved = resolveAgentModel(config, params.agentId);
    let sessionKey = params.sessionKey;
    if (sessionKey) {
      const session = await this.deps.store.getSession(sessionKey);
      if (session.agentId !== params.agentId) {
        throw new ApiError('VALIDATION_FAILED', 'This session belongs to another agent', {
          issues: [{ path: 'sessionKey', message: `session belongs to agent "${session.agentId}"` }],
        });
      }
      if (this.active.has(sessionKey))
        throw new ApiError('SESSION_BUSY', 'A run is already in progress in this session');
    } else {
      sessionKey = (
        await this.deps.store.createSession(params.agentId, params.message.slice(0, 80), this.now())
      ).key;
    }

    const runId = randomUUID();
    const controller = new AbortController();
    // Claim the session before the first await that could interleave with another send.
    const run: ActiveRun = { runId, sessionKey, controller, done: Promise.resolve() };
    this.active.set(sessionKey, run);
    try {
      await this.deps.idempotency.record({
        key: params.idempotencyKey,
        requestHash,
        runId,
        sessionKey,
        at: Date.now(),
      });
      await this.deps.store.appendMessages(sessionKey, [
        {
          id: randomUUID(),
          role: 'user',
          content: params.message,
          createdAt: this.now().toISOString(),
          runId,
        },
      ]);
    } catch (error) {
      this.active.delete(sessionKey);
      throw error;
    }
    const history = await this.deps.store.history(sessionKey, { limit: HISTORY_TURNS });
    const turns: ChatTurn[] = [
      ...(resolved.agent.systemPrompt
        ? [{ role: 'system' as const, content: resolved.agent.systemPrompt }]
        : []),
      ...history.messages
        .filter((message) => message.status !== 'error')
        .map((message) => ({ role: message.role, content: message.content })),
    ];
    run.done = this.execute(run, turns, params.agentId).finally(() => this.active.delete(run.sessionKey));
    return { runId, sessionKey, status: 'started' };
  }

  /** Aborts the session's active run (or only `runId` when given). True when a run was aborted. */
  abort(sessionKey: string, runId?: string): boolean {
    const run = this.active.get(sessionKey);
    if (!run || (runId && run.runId !== runId)) return false;
    run.controller.abort(new DOMException('The run was aborted', 'AbortError'));
    return true;
  }

  /** Waits for every active run to end (used on shutdown, after aborting them). */
  async drain(): Promise<void> {
    for (const run of this.active.values())
      run.controller.abort(new DOMException('The gateway is stopping', 'AbortError'));
    await Promise.all([...this.active.values()].map((run) => run.done));
  }

  /** A one-off completion for the OpenAI-compatible endpoint; the caller stores the messages. */
  async complete(
    agentId: string,
    turns: ChatTurn[],
    options: { signal: AbortSignal; onDelta: (text: string) => void },
  ): Promise<CompletionResult & { model: string }> {
    const resolved = resolveAgentModel(await this.deps.config.current(), agentId);
    const withSystem =
      resolved.agent.systemPrompt && !turns.some((turn) => turn.role === 'system')
        ? [{ role: 'system' as const, content: resolved.agent.systemPrompt }, ...turns]
        : turns;
    const result = await this.deps.streamCompletion(
      this.deps.egress,
      {
        api: resolved.provider.api,
        baseUrl: resolved.provider.baseUrl,
        model: resolved.model,
        apiKey: resolved.apiKey,
        turns: withSystem,
        maxTokens: resolved.agent.maxTokens,
        signal: options.signal,
      },
      options.onDelta,
    );
    return { ...result, model: resolved.agent.id };
  }

  private async execute(run: ActiveRun, turns: ChatTurn[], agentId: string): Promise<void> {
    let seq = 0;
    let text = '';
    const emit = (event: Omit<ChatEvent, 'runId' | 'sessionKey' | 'seq'>) => {
      const full: ChatEvent = { runId: run.runId, sessionKey: run.sessionKey, seq: seq++, ...event };
      for (const listener of this.listeners) listener(full);
    };
    let status: StoredMessage['status'] = 'complete';
    let failure: GatewayErrorShape | undefined;
    try {
      const result = await this.complete(agentId, turns, {
        signal: run.controller.signal,
        onDelta: (delta) => {
          text += delta;
          emit({ state: 'delta', delta });
        },
      });
      text = result.text;
    } catch (error) {
      if (isAbortError(error) || run.controller.signal.aborted) {
        status = 'aborted';
      } else {
        status = 'error';
        failure = toErrorShape(error);
        if (!(error instanceof ApiError))
          this.deps.log.warn({ err: error, runId: run.runId }, 'agent run failed');
      }
    }
    let stored: StoredMessage | undefined;
    try {
      [stored] = await this.deps.store.appendMessages(run.sessionKey, [
        {
          id: randomUUID(),
          role: 'assistant',
          content: text,
          createdAt: this.now().toISOString(),
          runId: run.runId,
          status,
          ...(failure ? { error: failure } : {}),
        },
      ]);
    } catch (error) {
      this.deps.log.warn({ err: error, runId: run.runId }, 'could not store the reply');
      failure ??= { code: 'INTERNAL', message: 'The reply could not be stored' };
      status = 'error';
    }
    const terminal = status === 'complete' ? 'final' : status === 'aborted' ? 'aborted' : 'error';
    emit({ state: terminal, ...(stored ? { message: stored } : {}), ...(failure ? { error: failure } : {}) });
  }
}

export function toErrorShape(error: unknown): GatewayErrorShape {
  if (error instanceof ApiError) {
    return { code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) };
  }
  return { code: 'INTERNAL', message: 'The run failed unexpectedly' };
}
