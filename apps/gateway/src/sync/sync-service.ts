import { join } from 'node:path';
import { type GatewaySyncStatus, Id } from '@multiclaw/protocol';
import { ensurePrivateDir } from '@multiclaw/runtime/atomic-write';
import { type CloudLink, LinkUnavailableError } from '../link/cloud-link.js';
import type { AppendedMessages } from '../store/local-store.js';
import { CursorLog } from './cursor-log.js';
import {
  type BatchLimits,
  DEFAULT_BATCH_LIMITS,
  Outbox,
  type OutboxStore,
  type PreparedBatch,
} from './outbox.js';
import type { SyncScope } from './sync-rules.js';

/** What the sync uses of the cloud link (link/cloud-link.ts). */
export type SyncLink = Pick<CloudLink, 'status' | 'request' | 'on'>;

export interface SyncLogger {
  info(message: string): void;
  warn(message: string): void;
}

export interface SyncServiceDeps {
  store: OutboxStore & { onAppended(listener: (appended: AppendedMessages) => void): () => void };
  link: SyncLink;
  /** Whether an agent belongs to the linked workspace (the link's latest `config.agents`). */
  workspaceAgents: { has(agentId: string): boolean };
  /** `sync.agents` of openclaw.json, read before each batch so an edit applies without a restart. */
  optedInAgents: () => Promise<readonly string[]>;
  /** Where the cursor logs live: `<store>/sync`. */
  dir: string;
  log: SyncLogger;
  limits?: BatchLimits;
  /** While online and idle, look again this often (an agent opted in, workspace agents arrived). Default 2 s. */
  recheckMs?: number;
  /** First retry delay after a failed or fruitless batch, doubling up to 15 s (as the link reconnects). Default 1 s. */
  retryBaseMs?: number;
  /** Batches sent before the oldest one's ack has come. Default 4 (the cloud lets a socket queue 16). */
  window?: number;
  /** The clock of `lastAckAt`. */
  now?: () => Date;
}

/** The protocol's GatewaySyncStatus: what `status` reports of the sync. */
export type SyncStatus = GatewaySyncStatus;

const RETRY_CAP_MS = 15_000;
/** Batches in flight at once unless `window` says otherwise. */
export const DEFAULT_SYNC_WINDOW = 4;

/**
 * The sync outbox's sender (DESIGN.md §7, docs/data-residency.md): while the
 * link is online it keeps a few batches in flight and moves cursors only on the
 * cloud's ack; a batch lost with the connection is sent again after the next
 * `online` (the cloud applies it idempotently). `unlinked` stops everything
 * and drops that workspace's outbox; its cursors stay on disk, keyed by the
 * workspace id, so linking to the same workspace again resends nothing it holds,
 * and linking to another starts from that workspace's own cursors.
 */
export class SyncService {
  private workspaceId: string | undefined;
  private outbox: Outbox | undefined;
  private online = false;
  /** Bumped by every link event: work begun under an older generation stops and its result is dropped. */
  private generation = 0;
  private pumping: Promise<void> | undefined;
  private again = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryMs = 0;
  private recheckTimer: NodeJS.Timeout | undefined;
  private transitions: Promise<unknown> = Promise.resolve();
  private lastScope: SyncScope | undefined;
  private lastAckAt: string | undefined;
  private readonly unsubscribe: (() => void)[] = [];

  constructor(private readonly deps: SyncServiceDeps) {}

  start(): void {
    const { link, store } = this.deps;
    this.unsubscribe.push(
      link.on('online', ({ workspaceId }) => void this.goOnline(workspaceId)),
      link.on('offline', () => this.goOffline()),
      link.on('unlinked', ({ workspaceId, reason }) => void this.unlink(workspaceId, reason)),
      store.onAppended(({ sessionId, lastSeq }) => {
        this.outbox?.noteAppended(sessionId, lastSeq);
        if (this.online) void this.pump();
      }),
    );
    const status = link.status();
    if (status.state === 'online' && status.workspaceId) void this.goOnline(status.workspaceId);
  }

  async stop(): Promise<void> {
    for (const unsubscribe of this.unsubscribe.splice(0)) unsubscribe();
    this.online = false;
    this.generation++;
    this.clearTimers();
    await this.transitions;
    await this.pumping;
    await this.outbox?.cursors.close();
  }

  status(): SyncStatus {
    const pending = this.outbox && this.lastScope ? this.outbox.pending(this.lastScope) : undefined;
    const state: SyncStatus['state'] = !this.workspaceId
      ? 'not linked'
      : !this.online
        ? 'offline'
        : this.retryTimer
          ? 'retrying'
          : this.pumping
            ? 'sending'
            : 'up to date';
    return {
      state,
      ...(this.workspaceId ? { workspaceId: this.workspaceId } : {}),
      pending: pending?.messages ?? 0,
      pendingConversations: pending?.conversations ?? 0,
      ...(this.lastAckAt ? { lastAckAt: this.lastAckAt } : {}),
    };
  }

  /** Sends what is pending now; resolves when nothing more can be sent (tests, and the periodic recheck). */
  async poke(): Promise<void> {
    await this.transitions;
    await this.pump();
    while (this.pumping) await this.pumping;
  }

  private goOnline(workspaceId: string): Promise<unknown> {
    return this.transition(async () => {
      this.generation++;
      if (workspaceId !== this.workspaceId) await this.openWorkspace(workspaceId);
      this.online = true;
      this.scheduleRecheck();
      void this.pump();
    });
  }

  private goOffline(): void {
    this.online = false;
    this.generation++;
    this.clearTimers();
  }

  private unlink(workspaceId: string, reason: string): Promise<unknown> {
    this.goOffline();
    return this.transition(async () => {
      if (workspaceId !== this.workspaceId) return;
      const outbox = this.outbox;
      this.outbox = undefined;
      this.workspaceId = undefined;
      this.lastScope = undefined;
      await outbox?.cursors.close();
      this.deps.log.info(
        `sync: stopped (${reason}); nothing more goes to workspace ${workspaceId}. What it already holds stays there, and is not sent again if this gateway links to it again`,
      );
    });
  }

  private async openWorkspace(workspaceId: string): Promise<void> {
    await this.outbox?.cursors.close();
    this.outbox = undefined;
    // The id names a file: only a well-formed id may.
    const id = Id.parse(workspaceId);
    await ensurePrivateDir(this.deps.dir);
    const cursors = await CursorLog.open(join(this.deps.dir, `${id}.log`), this.deps.log);
    this.outbox = new Outbox(
      this.deps.store,
      cursors,
      this.deps.log,
      this.deps.limits ?? DEFAULT_BATCH_LIMITS,
    );
    this.workspaceId = id;
    this.retryMs = 0;
  }

  /** Link events change state one at a time, in the order they came. */
  private transition(work: () => Promise<void>): Promise<unknown> {
    const run = this.transitions.then(work).catch((error: unknown) => {
      this.deps.log.warn(`sync: could not follow the link's change: ${(error as Error).message}`);
    });
    this.transitions = run;
    return run;
  }

  private pump(): Promise<void> {
    if (this.pumping) {
      this.again = true;
      return this.pumping;
    }
    this.pumping = this.sendAll().finally(() => {
      this.pumping = undefined;
      if (this.again) {
        this.again = false;
        void this.pump();
      }
    });
    return this.pumping;
  }

  /**
   * Batches until nothing is pending, the link drops, or the cloud does not
   * take one. Up to `window` batches are in flight, so the gateway reads and
   * sends the next while the cloud applies the last (the cloud applies a
   * socket's batches in order); acks are applied in the order the batches
   * went, and cursors move only on them.
   */
  private async sendAll(): Promise<void> {
    const generation = this.generation;
    const outbox = this.outbox;
    const current = () => this.online && generation === this.generation && !this.retryTimer;
    if (!outbox) return;
    const window = Math.max(1, this.deps.window ?? DEFAULT_SYNC_WINDOW);
    const flying: { prepared: PreparedBatch; reply: ReturnType<SyncLink['request']> }[] = [];
    outbox.resetInFlight();
    try {
      for (;;) {
        while (flying.length < window && current()) {
          this.again = false;
          const scope = await this.scope();
          const prepared = await outbox.nextBatch(scope);
          if (!prepared || !current()) break;
          const reply = this.deps.link.request('sync.batch', prepared.batch);
          reply.catch(() => {}); // awaited below, in the order sent
          flying.push({ prepared, reply });
        }
        const next = flying.shift();
        if (!next || !current()) return;
        let ack: Awaited<ReturnType<SyncLink['request']>>;
        try {
          ack = await next.reply;
        } catch (error) {
          if (error instanceof LinkUnavailableError) return; // sent again after the next `online`
          throw error;
        }
        if (generation !== this.generation) return;
        this.lastAckAt = (this.deps.now?.() ?? new Date()).toISOString();
        if (!(await outbox.applyAck(next.prepared, ack))) {
          this.retryLater('the cloud acknowledged nothing new in the last batch');
          return;
        }
        this.retryMs = 0;
      }
    } catch (error) {
      this.retryLater(`a batch failed: ${(error as Error).message}`);
    } finally {
      // Batches still in flight count for nothing: what they carried goes again from the cursors.
      await Promise.allSettled(flying.map(({ reply }) => reply));
      outbox.resetInFlight();
    }
  }

  private async scope(): Promise<SyncScope> {
    const { workspaceAgents, optedInAgents } = this.deps;
    this.lastScope = {
      isWorkspaceAgent: (agentId) => workspaceAgents.has(agentId),
      optedInAgents: new Set(await optedInAgents()),
    };
    return this.lastScope;
  }

  private retryLater(why: string): void {
    if (this.retryTimer) return;
    this.retryMs = Math.min(RETRY_CAP_MS, this.retryMs ? this.retryMs * 2 : (this.deps.retryBaseMs ?? 1000));
    this.deps.log.warn(`sync: ${why}; trying again in ${Math.round(this.retryMs / 1000)} s`);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.online) void this.pump();
    }, this.retryMs);
    this.retryTimer.unref();
  }

  private scheduleRecheck(): void {
    if (this.recheckTimer) return;
    this.recheckTimer = setInterval(() => {
      if (this.online && !this.pumping && !this.retryTimer) void this.pump();
    }, this.deps.recheckMs ?? 2000);
    this.recheckTimer.unref();
  }

  private clearTimers(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    clearInterval(this.recheckTimer);
    this.recheckTimer = undefined;
  }
}
