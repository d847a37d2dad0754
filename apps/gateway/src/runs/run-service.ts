import { randomUUID } from 'node:crypto';
import { ApiError, type ChatSendResult, type RunEvent, sessionKeyOf } from '@multiclaw/protocol';
import type { ConfigFile } from '../config/config-file.js';
import type { Egress } from '../egress/egress.js';
import type { WorkspaceAgents } from '../link/workspace-agents.js';
import { assertSamplingSupported } from '../providers/sampling.js';
import type { ChatTurn, Sampling, StreamCompletion } from '../providers/types.js';
import type { LocalStore } from '../store/local-store.js';
import type { MessageDraft } from '../store/message-log.js';
import type { PartialReply } from '../store/partial-reply.js';
import { resolveAgentModel, withAgentDefaults } from './credentials.js';
import type { IdempotencyEntry, IdempotencyLog, RunState } from './idempotency-log.js';
import { requestHashOf, requestStored, retryable, storedOutcome } from './idempotent-runs.js';
import { GATEWAY_STOPPING, type RunOutcome, streamReply, toErrorShape } from './reply-stream.js';

export type { RunOutcome };
export { toErrorShape };

/** How much of a session's history is sent to the model with each new message. */
const HISTORY_TURNS = 200;
/** A lower-case UUID: the only idempotency keys that can double as run ids. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** How many ended runs `wait` can still answer for. */
const FINISHED_RUNS_KEPT = 1000;

export interface RunServiceDeps {
  config: ConfigFile;
  store: LocalStore;
  idempotency: IdempotencyLog;
  egress: Egress;
  streamCompletion: StreamCompletion;
  /** The workspace agents held from the cloud link (absent: local agents only). */
  workspaceAgents?: WorkspaceAgents;
  /** Text appended to an agent's system prompt: the recordings attached to it as skills (docs/extension.md). */
  skillsFor?: (agentId: string) => Promise<string | undefined>;
  log: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
  now?: () => Date;
}

interface ActiveRun {
  runId: string;
  sessionKey: string;
  controller: AbortController;
  /** Settles once the reply is stored: what `drain` waits for, from the moment the session is claimed. */
  done: Promise<RunOutcome>;
  settle: (outcome: RunOutcome) => void;
}

export type RunEventListener = (event: RunEvent) => void;

/** An OpenAI-compatible completion: the request's own turns, one new session per request. */
export interface CompletionParams {
  agentId: string;
  turns: ChatTurn[];
  sampling?: Sampling | undefined;
  /** The client's `Idempotency-Key` header, if it sent one. */
  idempotencyKey?: string | undefined;
  signal: AbortSignal;
  onDelta: (delta: string) => void;
}

/**
 * Agent runs, from the control protocol (`send`, replies as `chat` events) and
 * the OpenAI-compatible API (`complete`). Either way the request is stored
 * first, the reply is persisted while it streams, and stored whole however the
 * run ends; `drain` stops every kind of run on shutdown.
 */
export class RunService {
  private readonly active = new Map<string, ActiveRun>();
  private readonly listeners = new Set<RunEventListener>();
  /** How recent runs ended, for `wait` (oldest dropped first). */
  private readonly finished = new Map<string, RunOutcome>();
  private readonly now: () => Date;
  private stopping = false;

  constructor(private readonly deps: RunServiceDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  onRunEvent(listener: RunEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Starts a run in the session `sessionKey` (created, under that key, when it
   * does not exist yet) and answers once the request is on disk; the reply
   * streams as run events.
   */
  async send(params: {
    agentId: string;
    sessionKey: string;
    message: string;
    idempotencyKey: string;
  }): Promise<ChatSendResult> {
    const requestHash = requestHashOf([params.agentId, params.sessionKey, params.message]);
    const seen = this.seen(params.idempotencyKey, requestHash);
    let { sessionKey } = params;
    if (seen) {
      const reported = { runId: seen.runId, sessionKey: seen.sessionKey };
      if (this.isActive(seen)) return { ...reported, status: 'in_flight' };
      if (seen.state === 'interrupted') {
        // Say what happened once; the client's next send with this key runs the reply again.
        await this.deps.idempotency.setState(seen.key, 'retryable');
        return { ...reported, status: 'interrupted' };
      }
      if (seen.state !== 'retryable') return { ...reported, status: 'ok' };
      sessionKey = seen.sessionKey;
    }

    const resolved = resolveAgentModel(
      await this.deps.config.current(),
      params.agentId,
      this.deps.workspaceAgents,
    );
    const existing = await this.deps.store.findSession(sessionKey);
    if (existing) {
      sessionKey = existing.key;
      if (existing.agentId !== params.agentId) {
        throw new ApiError('VALIDATION_FAILED', 'This session belongs to another agent', {
          issues: [{ path: 'sessionKey', message: `session belongs to agent "${existing.agentId}"` }],
        });
      }
    }
    const userMessage: ChatTurn = { role: 'user', content: params.message };
    // A rerun of an interrupted key: its message is stored already, unless the stop came first.
    const toStore = seen && (await requestStored(this.deps.store, seen)) ? [] : [userMessage];
    const { run, partial } = await this.begin({
      // OpenClaw's clients find their run's events by the idempotency key they sent: it is the run id when it can be.
      runId: !seen && UUID.test(params.idempotencyKey) ? params.idempotencyKey : undefined,
      agentId: params.agentId,
      sessionKey,
      title: params.message,
      messages: toStore,
      idempotency: { key: params.idempotencyKey, requestHash },
    });
    const turns = await this.sessionTurns(
      run.sessionKey,
      await this.systemPromptOf(params.agentId, resolved.agent.systemPrompt),
    );
    const emit = this.emitterFor(run);
    emit({ state: 'start' });
    void this.execute(run, partial, params.agentId, turns, undefined, (delta) =>
      emit({ state: 'delta', delta }),
    ).then(async (outcome) => {
      await this.settleKey(params.idempotencyKey, outcome.status === 'interrupted' ? 'interrupted' : 'done');
      const terminal = {
        complete: 'final',
        aborted: 'aborted',
        interrupted: 'aborted',
        error: 'error',
      } as const;
      emit({
        state: terminal[outcome.status],
        ...(outcome.message ? { message: outcome.message } : {}),
        ...(outcome.error ? { error: toErrorShape(outcome.error) } : {}),
      });
      return outcome;
    });
    return { runId: run.runId, sessionKey: run.sessionKey, status: 'started' };
  }

  /**
   * How run `runId` ended, once it has (within `timeoutMs`; undefined when it
   * is still running then, or is not known to this process: runs are
   * remembered from their start until a thousand later runs have ended).
   */
  async wait(runId: string, timeoutMs: number): Promise<RunOutcome | undefined> {
    const finished = this.finished.get(runId);
    if (finished) return finished;
    const run = [...this.active.values()].find((active) => active.runId === runId);
    if (!run) return undefined;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), timeoutMs);
    });
    try {
      return await Promise.race([run.done, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Runs one OpenAI-compatible completion and resolves once its reply is stored.
   * With an idempotency key already seen: a finished run is answered from the
   * store (no second provider call), a running one is refused (409, which OpenAI
   * clients retry), and an interrupted one, or one that failed in a way a retry
   * can fix, runs again in its session.
   */
  async complete(params: CompletionParams): Promise<RunOutcome & { model: string; replayed: boolean }> {
    const resolved = resolveAgentModel(
      await this.deps.config.current(),
      params.agentId,
      this.deps.workspaceAgents,
    );
    assertSamplingSupported(resolved.provider.api, params.sampling);
    const key = params.idempotencyKey === undefined ? undefined : `openai:${params.idempotencyKey}`;
    const requestHash = requestHashOf([params.agentId, params.turns, params.sampling ?? null]);
    const seen = key === undefined ? undefined : this.seen(key, requestHash);
    if (seen) {
      if (this.isActive(seen)) {
        throw new ApiError(
          'SESSION_BUSY',
          'A request with this Idempotency-Key is still running; retry later',
        );
      }
      if (seen.state !== 'retryable' && seen.state !== 'interrupted') {
        return { ...(await storedOutcome(this.deps.store, seen)), model: params.agentId, replayed: true };
      }
    }
    const systemPrompt = await this.systemPromptOf(params.agentId, resolved.agent.systemPrompt);
    const withSystem =
      systemPrompt && !params.turns.some((turn) => turn.role === 'system')
        ? [{ role: 'system' as const, content: systemPrompt }, ...params.turns]
        : params.turns;
    const lastUser = [...params.turns].reverse().find((turn) => turn.role === 'user')?.content ?? '';
    const { run, partial } = await this.begin({
      agentId: params.agentId,
      sessionKey: seen?.sessionKey ?? sessionKeyOf(params.agentId, `openai:${randomUUID()}`),
      title: lastUser,
      messages: seen && (await requestStored(this.deps.store, seen)) ? [] : params.turns,
      ...(key === undefined ? {} : { idempotency: { key, requestHash } }),
    });
    const onAbort = () => run.controller.abort(params.signal.reason);
    if (params.signal.aborted) onAbort();
    else params.signal.addEventListener('abort', onAbort, { once: true });
    try {
      const outcome = await this.execute(
        run,
        partial,
        params.agentId,
        withSystem,
        params.sampling,
        params.onDelta,
      );
      if (key !== undefined) await this.settleKey(key, retryable(outcome) ? 'retryable' : 'done');
      return { ...outcome, model: params.agentId, replayed: false };
    } finally {
      params.signal.removeEventListener('abort', onAbort);
    }
  }

  /** Whether a run is streaming in this session now. */
  isBusy(sessionKey: string): boolean {
    return this.active.has(sessionKey);
  }

  /** Aborts the session's active run (or only `runId` when given). True when a run was aborted. */
  abort(sessionKey: string, runId?: string): boolean {
    const run = this.active.get(sessionKey);
    if (!run || (runId && run.runId !== runId)) return false;
    run.controller.abort(new DOMException('The run was aborted', 'AbortError'));
    return true;
  }

  /** Stops every active run, of either API, and waits until each has stored its reply as interrupted. */
  async drain(): Promise<void> {
    this.stopping = true;
    const runs = [...this.active.values()];
    for (const run of runs) run.controller.abort(GATEWAY_STOPPING);
    await Promise.allSettled(runs.map((run) => run.done));
  }

  /** The agent's own system prompt, then its skills (each part only when there is one). */
  private async systemPromptOf(agentId: string, own: string | undefined): Promise<string | undefined> {
    const skills = await this.deps.skillsFor?.(agentId);
    return [own, skills].filter(Boolean).join('\n\n') || undefined;
  }

  /** What the model is sent for a session: its system prompt, then the history, minus failed and cut-off replies. */
  private async sessionTurns(sessionKey: string, systemPrompt: string | undefined): Promise<ChatTurn[]> {
    const history = await this.deps.store.history(sessionKey, { limit: HISTORY_TURNS });
    return [
      ...(systemPrompt ? [{ role: 'system' as const, content: systemPrompt }] : []),
      ...history.messages
        .filter((message) => message.status !== 'error' && message.status !== 'interrupted')
        .map((message) => ({ role: message.role, content: message.content })),
    ];
  }

  /** `chat` events of one run, numbered from 0. */
  private emitterFor(run: ActiveRun) {
    let seq = 0;
    return (event: Omit<RunEvent, 'runId' | 'sessionKey' | 'seq'>) => {
      const full: RunEvent = { runId: run.runId, sessionKey: run.sessionKey, seq: seq++, ...event };
      for (const listener of this.listeners) listener(full);
    };
  }

  private seen(key: string, requestHash: string): IdempotencyEntry | undefined {
    const seen = this.deps.idempotency.get(key);
    if (seen && seen.requestHash !== requestHash) {
      throw new ApiError('IDEMPOTENCY_KEY_REUSED', 'This idempotency key was used for a different request');
    }
    return seen;
  }

  private isActive(entry: IdempotencyEntry): boolean {
    return this.active.get(entry.sessionKey)?.runId === entry.runId;
  }

  /**
   * Claims the session (a new one when none is given), records the idempotency
   * key, stores the request's messages and starts the reply's partial file:
   * all on disk before the caller hears that the run started.
   */
  private async begin(request: {
    runId?: string | undefined;
    agentId: string;
    sessionKey: string;
    title: string;
    messages: ChatTurn[];
    idempotency?: { key: string; requestHash: string } | undefined;
  }): Promise<{ run: ActiveRun; partial: PartialReply }> {
    if (this.stopping)
      throw new ApiError('SERVICE_UNAVAILABLE', 'The gateway is stopping; send this again once it is back');
    const { sessionKey } = request;
    if (this.active.has(sessionKey))
      throw new ApiError('SESSION_BUSY', 'A run is already in progress in this session');
    const runId = request.runId ?? randomUUID();
    // Claim the session before the first await, so two runs never interleave in it.
    let settle: (outcome: RunOutcome) => void = () => {};
    const done = new Promise<RunOutcome>((resolve) => {
      settle = resolve;
    });
    const run: ActiveRun = { runId, sessionKey, controller: new AbortController(), done, settle };
    this.active.set(sessionKey, run);
    try {
      if (!(await this.deps.store.findSession(sessionKey)))
        await this.deps.store.createSession(
          request.agentId,
          request.title.slice(0, 80),
          this.now(),
          sessionKey,
        );
      if (request.idempotency) {
        await this.deps.idempotency.record({
          ...request.idempotency,
          runId,
          sessionKey,
          at: Date.now(),
          state: 'running',
        });
      }
      const createdAt = this.now().toISOString();
      const drafts: MessageDraft[] = request.messages.map((turn) => ({
        id: randomUUID(),
        role: turn.role,
        content: turn.content,
        createdAt,
        runId,
      }));
      if (drafts.length) await this.deps.store.appendMessages(sessionKey, drafts);
      const partial = await this.deps.store.beginReply({
        runId,
        sessionKey,
        messageId: randomUUID(),
        createdAt: this.now().toISOString(),
      });
      return { run, partial };
    } catch (error) {
      this.active.delete(sessionKey);
      settle({ status: 'error', text: '' });
      throw error;
    }
  }

  private async execute(
    run: ActiveRun,
    partial: PartialReply,
    agentId: string,
    turns: ChatTurn[],
    sampling: Sampling | undefined,
    onDelta: (delta: string) => void,
  ): Promise<RunOutcome> {
    let outcome: RunOutcome = { status: 'error', text: '' };
    try {
      outcome = await streamReply(
        { ...this.deps, now: this.now },
        { runId: run.runId, controller: run.controller, partial },
        async () => {
          const resolved = resolveAgentModel(
            await this.deps.config.current(),
            agentId,
            this.deps.workspaceAgents,
          );
          return {
            api: resolved.provider.api,
            baseUrl: resolved.provider.baseUrl,
            model: resolved.model,
            apiKey: resolved.apiKey,
            turns,
            maxTokens: sampling?.maxTokens ?? resolved.agent.maxTokens,
            sampling: withAgentDefaults(resolved.sampling, sampling),
          };
        },
        onDelta,
      );
      return outcome;
    } finally {
      this.active.delete(run.sessionKey);
      this.finished.set(run.runId, outcome);
      if (this.finished.size > FINISHED_RUNS_KEPT)
        this.finished.delete(this.finished.keys().next().value as string);
      run.settle(outcome);
    }
  }

  private async settleKey(key: string, state: RunState): Promise<void> {
    await this.deps.idempotency
      .setState(key, state)
      .catch((error) => this.deps.log.warn({ err: error }, 'could not record how a run ended'));
  }
}
