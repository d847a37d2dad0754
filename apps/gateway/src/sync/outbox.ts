import {
  ApiError,
  type StoredMessage,
  SYNC_BATCH_MAX_CONTENT_BYTES,
  SYNC_BATCH_MAX_MESSAGES,
  type SyncAck,
  type SyncBatch,
  type SyncConversation,
  type SyncMessage,
} from '@multiclaw/protocol';
import type { SessionRecord } from '../store/local-store.js';
import type { CursorEntry, CursorLog } from './cursor-log.js';
import { fitContent, toSyncMessage, wireBytes } from './sync-message.js';
import { type AgentSource, type SyncScope, syncSourceOf } from './sync-rules.js';

/** What the outbox reads of the local store. */
export interface OutboxStore {
  conversationRecords(): SessionRecord[];
  conversationRecord(ref: string): SessionRecord | undefined;
  getSession(ref: string): Promise<{ messageCount: number }>;
  readMessages(ref: string, fromSeq: number, toSeq: number): Promise<StoredMessage[]>;
}

export interface OutboxLogger {
  info(message: string): void;
  warn(message: string): void;
}

export interface BatchLimits {
  maxMessages: number;
  maxContentBytes: number;
  /** Messages a conversation gets in a batch before every other pending one has had its turn. */
  share: number;
}

export const DEFAULT_BATCH_LIMITS: BatchLimits = {
  maxMessages: SYNC_BATCH_MAX_MESSAGES,
  maxContentBytes: SYNC_BATCH_MAX_CONTENT_BYTES,
  share: 50,
};

/** A batch ready to send, and where each of its conversations' cursors stood when it was built. */
export interface PreparedBatch {
  batch: SyncBatch;
  sent: Map<string, { fromCursor: number; toSeq: number }>;
}

interface Candidate {
  record: SessionRecord;
  source: AgentSource;
  cursor: number;
  pending: number;
  take: number;
}

/**
 * The sync outbox of one workspace, derived from the store: a conversation's
 * pending messages are those after its cursor (the highest seq the cloud
 * acknowledged, cursor-log.ts). No second copy of any content is kept, so
 * nothing can be lost between the two across a crash.
 *
 * Fairness: a batch takes conversations with new messages first (newest
 * first), then the backlog in round-robin order, each with at most `share`
 * messages until every pending conversation has had its turn; a conversation
 * whose first message did not fit goes first next time. So a backlog of days
 * catches up in bounded batches while a live conversation waits one batch.
 */
export class Outbox {
  /** Every conversation of the store, in round-robin order (a conversation just sent moves to the end): its last seq once known. */
  private readonly known = new Map<string, { lastSeq: number | undefined }>();
  /** Conversations with messages appended since they were last sent; the most recent last. */
  private readonly live = new Set<string>();
  /** Conversations whose next message did not fit in the last batch. */
  private readonly starved = new Set<string>();
  private readonly unreadable = new Set<string>();
  /**
   * The highest seq sent, per conversation, in batches whose ack has not come
   * yet: the next batch goes on from there (the sender keeps a few batches in
   * flight), while cursors move only on acks.
   */
  private readonly inFlight = new Map<string, number>();

  constructor(
    private readonly store: OutboxStore,
    readonly cursors: CursorLog,
    private readonly logger: OutboxLogger,
    private readonly limits: BatchLimits = DEFAULT_BATCH_LIMITS,
  ) {
    for (const record of store.conversationRecords()) this.known.set(record.id, { lastSeq: undefined });
  }

  /** The store stored messages up to `lastSeq` in this conversation. */
  noteAppended(conversationId: string, lastSeq: number): void {
    const entry = this.known.get(conversationId);
    if (entry) entry.lastSeq = Math.max(entry.lastSeq ?? 0, lastSeq);
    else this.known.set(conversationId, { lastSeq });
    this.live.delete(conversationId);
    this.live.add(conversationId);
  }

  /** Nothing is in flight any more (a new connection, or the sender gave up on its unacked batches): go on from the cursors. */
  resetInFlight(): void {
    this.inFlight.clear();
  }

  /** The next batch within the limits, or undefined when nothing in scope is pending. */
  async nextBatch(scope: SyncScope): Promise<PreparedBatch | undefined> {
    const candidates = await this.candidates(scope);
    if (candidates.length === 0) return undefined;
    this.allot(candidates);
    const conversations: SyncConversation[] = [];
    const sent = new Map<string, { fromCursor: number; toSeq: number }>();
    let bytes = 0;
    for (const candidate of candidates) {
      if (candidate.take === 0) continue;
      const { record } = candidate;
      const messages = await this.read(record.id, candidate.cursor + 1, candidate.cursor + candidate.take);
      if (messages === undefined) continue;
      const titleBytes = record.title ? wireBytes(record.title) : 0;
      const fitted = this.fit(messages, bytes === 0, this.limits.maxContentBytes - bytes - titleBytes);
      if (fitted.length === 0) {
        this.starved.add(record.id);
        continue;
      }
      this.starved.delete(record.id);
      bytes += titleBytes + fitted.reduce((sum, message) => sum + wireBytes(message.content), 0);
      conversations.push({
        conversationId: record.id,
        agentId: record.agentId,
        agentSource: candidate.source,
        ...(record.title ? { title: record.title } : {}),
        messages: fitted,
      });
      const toSeq = (fitted.at(-1) as SyncMessage).seq;
      sent.set(record.id, { fromCursor: candidate.cursor, toSeq });
      this.inFlight.set(record.id, toSeq);
      this.moveToBack(record.id);
    }
    if (conversations.length === 0) return undefined;
    return { batch: { conversations }, sent };
  }

  /**
   * Moves cursors as the cloud says, after writing them down: `stored` sets
   * the cursor to `ackedSeq` (back, too, when the cloud holds less than it
   * said before: what it lacks is sent again); `deleted` and `refused` stop
   * the conversation for this workspace. Acks of conversations not in the
   * batch are ignored. Answers whether any cursor moved (else the sender backs off).
   */
  async applyAck(prepared: PreparedBatch, ack: SyncAck): Promise<boolean> {
    const answers = new Map(ack.acks.map((entry) => [entry.conversationId, entry]));
    const updates: CursorEntry[] = [];
    let progressed = false;
    for (const [conversationId, sent] of prepared.sent) {
      const answer = answers.get(conversationId);
      this.settleInFlight(conversationId, answer, sent.toSeq);
      if (!answer) continue;
      const cursor = this.cursors.get(conversationId)?.ackedSeq ?? 0;
      if (answer.state === 'stored') {
        const lastLocal = this.known.get(conversationId)?.lastSeq ?? sent.toSeq;
        const ackedSeq = Math.min(answer.ackedSeq, lastLocal);
        if (ackedSeq < sent.fromCursor)
          this.logger.warn(
            `sync: the cloud holds conversation ${conversationId} only up to message ${ackedSeq}, not ${sent.fromCursor}; sending the rest again`,
          );
        // Back counts as a move too (what the cloud lacks goes next); the same cursor again does not.
        if (ackedSeq !== cursor) {
          progressed = true;
          updates.push({ conversationId, ackedSeq, state: 'syncing' });
        }
        continue;
      }
      progressed = true;
      const code = answer.code?.slice(0, 200);
      updates.push({ conversationId, ackedSeq: cursor, state: answer.state, ...(code ? { code } : {}) });
      if (answer.state === 'deleted')
        this.logger.info(
          `sync: conversation ${conversationId} was deleted in the workspace; it is no longer synced (the local copy stays)`,
        );
      else
        this.logger.warn(
          `sync: the workspace refused conversation ${conversationId}${code ? ` (${code})` : ''}; it will not be sent again`,
        );
    }
    await this.cursors.record(updates);
    return progressed;
  }

  /**
   * A batch's ack arrived: a conversation acked up to what this batch sent
   * stays in flight only as far as later batches carry it; one acked short of
   * that (or refused, deleted, not answered) goes on from its cursor.
   */
  private settleInFlight(
    conversationId: string,
    answer: SyncAck['acks'][number] | undefined,
    toSeq: number,
  ): void {
    const flying = this.inFlight.get(conversationId);
    if (flying === undefined) return;
    const whole = answer?.state === 'stored' && answer.ackedSeq >= toSeq;
    if (!whole || flying <= toSeq) this.inFlight.delete(conversationId);
  }

  /** Pending messages and conversations in scope, counting only conversations whose size is known yet. */
  pending(scope: SyncScope): { messages: number; conversations: number } {
    let messages = 0;
    let conversations = 0;
    for (const [id, { lastSeq }] of this.known) {
      const state = this.stateOf(id, scope);
      if (!state || lastSeq === undefined || lastSeq <= state.cursor) continue;
      messages += lastSeq - state.cursor;
      conversations += 1;
    }
    return { messages, conversations };
  }

  /** Pending conversations in batch order, at most one per message a batch can hold. */
  private async candidates(scope: SyncScope): Promise<Candidate[]> {
    const order = new Set([...this.starved, ...[...this.live].reverse(), ...this.known.keys()]);
    const candidates: Candidate[] = [];
    for (const id of order) {
      if (candidates.length >= this.limits.maxMessages) break;
      if (this.unreadable.has(id)) continue;
      const state = this.stateOf(id, scope);
      if (!state) continue;
      const lastSeq = await this.lastSeqOf(id);
      const from = Math.max(state.cursor, this.inFlight.get(id) ?? 0);
      if (lastSeq === undefined || lastSeq <= from) {
        if (from === state.cursor) this.live.delete(id);
        continue;
      }
      candidates.push({ ...state, cursor: from, pending: lastSeq - from, take: 0 });
    }
    return candidates;
  }

  /** A conversation's record, source and cursor when it is in scope and still syncing. */
  private stateOf(id: string, scope: SyncScope) {
    const record = this.store.conversationRecord(id);
    if (!record) {
      // Deleted locally: the cloud keeps its copy unless the person deletes it there.
      this.forget(id);
      return undefined;
    }
    const source = syncSourceOf(record.agentId, scope);
    const cursor = this.cursors.get(id);
    if (!source || (cursor && cursor.state !== 'syncing')) return undefined;
    return { record, source, cursor: cursor?.ackedSeq ?? 0 };
  }

  /** Each candidate's share first, then what is left, in order, up to the batch's message limit. */
  private allot(candidates: Candidate[]): void {
    let room = this.limits.maxMessages;
    for (const candidate of candidates) {
      candidate.take = Math.min(candidate.pending, this.limits.share, room);
      room -= candidate.take;
    }
    for (const candidate of candidates) {
      const more = Math.min(candidate.pending - candidate.take, room);
      candidate.take += more;
      room -= more;
    }
  }

  /** The leading messages that fit in `room` bytes; the batch's first message always goes, cut to fit if it must. */
  private fit(stored: StoredMessage[], batchEmpty: boolean, room: number): SyncMessage[] {
    const fitted: SyncMessage[] = [];
    let used = 0;
    for (const message of stored) {
      let synced = toSyncMessage(message);
      if (batchEmpty && fitted.length === 0) synced = fitContent(synced, room);
      const cost = wireBytes(synced.content);
      if (used + cost > room) break;
      fitted.push(synced);
      used += cost;
    }
    return fitted;
  }

  private async lastSeqOf(id: string): Promise<number | undefined> {
    const entry = this.known.get(id) ?? { lastSeq: undefined };
    if (entry.lastSeq === undefined) {
      try {
        entry.lastSeq = (await this.store.getSession(id)).messageCount;
        this.known.set(id, entry);
      } catch (error) {
        this.reportUnreadable(id, error);
        return undefined;
      }
    }
    return entry.lastSeq;
  }

  private async read(id: string, fromSeq: number, toSeq: number): Promise<StoredMessage[] | undefined> {
    try {
      return await this.store.readMessages(id, fromSeq, toSeq);
    } catch (error) {
      this.reportUnreadable(id, error);
      return undefined;
    }
  }

  /** A damaged conversation is left out (once warned); one deleted meanwhile is forgotten. */
  private reportUnreadable(id: string, error: unknown): void {
    if (!(error instanceof ApiError)) throw error;
    if (error.code === 'NOT_FOUND') {
      this.forget(id);
      return;
    }
    if (!this.unreadable.has(id))
      this.logger.warn(`sync: conversation ${id} cannot be read and is not synced: ${error.message}`);
    this.unreadable.add(id);
  }

  private moveToBack(id: string): void {
    const entry = this.known.get(id);
    this.known.delete(id);
    if (entry) this.known.set(id, entry);
    this.live.delete(id);
  }

  private forget(id: string): void {
    this.known.delete(id);
    this.live.delete(id);
    this.starved.delete(id);
  }
}
