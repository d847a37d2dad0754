import { randomUUID } from 'node:crypto';
import { mkdir, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { SessionSummary, StoredMessage } from '@multiclaw/protocol';
import { ApiError, sessionKeyOf } from '@multiclaw/protocol';
import { type MessageDraft, MessageLog } from './message-log.js';
import {
  type BatchPolicy,
  findPartialReplies,
  PartialReply,
  type PartialReplyStart,
  type Scheduler,
} from './partial-reply.js';
import { appendRecordsAt, encodeRecord, loadRecordFile } from './record-file.js';
import { SessionIndex, type SessionRecord, type SessionsLogRecord, upgradeRecord } from './session-index.js';
import { acquireStoreLock, releaseStoreLock } from './store-lock.js';

export type { SessionRecord } from './session-index.js';
export { StoreLockedError } from './store-lock.js';

export interface StoreLogger {
  warn(message: string): void;
}

/** Messages just stored in a conversation (what the sync outbox listens for). */
export interface AppendedMessages {
  sessionId: string;
  agentId: string;
  /** The seq of the last message stored. */
  lastSeq: number;
}

export interface ListSessionsOptions {
  agentId?: string | undefined;
  /** Case-insensitive substring of the title or the key. */
  search?: string | undefined;
  limit?: number | undefined;
  /** A session key (or id) of the previous page's last session: the page starts after it. */
  cursor?: string | undefined;
  /** Sessions to skip (after the cursor, when both are given). */
  offset?: number | undefined;
}

/**
 * The gateway's local store (docs/gateway-store.md): `sessions.log` lists the
 * conversations, `messages/<session id>.log` holds each one's messages. All
 * are record files (record-file.ts). One gateway process owns a store at a time.
 *
 * Every method that takes a session reference (`ref`) accepts its key or its
 * id — which is what a session created before session keys was called — and
 * answers with the current key.
 */
export class LocalStore {
  /** Open message logs, by session id. */
  private readonly logs = new Map<string, Promise<MessageLog>>();
  private sessionsTail: Promise<unknown> = Promise.resolve();
  private readonly appendListeners = new Set<(appended: AppendedMessages) => void>();

  private constructor(
    readonly dir: string,
    private readonly index: SessionIndex,
    private sessionsSize: number,
    private readonly logger: StoreLogger,
  ) {}

  static async open(dir: string, logger: StoreLogger): Promise<LocalStore> {
    await mkdir(join(dir, 'messages'), { recursive: true, mode: 0o700 });
    const lock = join(dir, 'store.lock');
    await acquireStoreLock(lock);
    try {
      const { index, size } = await loadSessions(join(dir, 'sessions.log'), logger);
      const store = new LocalStore(dir, index, size, logger);
      await store.removeDeletedLeftovers();
      await store.recoverInterruptedReplies();
      return store;
    } catch (error) {
      await releaseStoreLock(lock);
      throw error;
    }
  }

  async close(): Promise<void> {
    await this.sessionsTail;
    await releaseStoreLock(join(this.dir, 'store.lock'));
  }

  /**
   * A new, empty conversation under `key` (which must be free and belong to
   * `agentId`), or under `agent:<agentId>:<its id>` when no key is given.
   */
  createSession(agentId: string, title: string, now = new Date(), key?: string): Promise<SessionSummary> {
    return this.mutate(async () => {
      const id = this.newId(agentId, key === undefined);
      const record: SessionRecord = {
        id,
        key: key ?? sessionKeyOf(agentId, id),
        agentId,
        title: title.slice(0, 200),
        createdAt: now.toISOString(),
      };
      this.index.checkNewKey(record, key === undefined ? 'agentId' : 'key');
      await this.appendSessionRecords([record]);
      return emptySummary(record);
    });
  }

  /** The session, or undefined when there is none; a damaged one is returned marked `damaged`. */
  async findSession(ref: string): Promise<SessionSummary | undefined> {
    const record = this.index.resolve(ref);
    return record && this.summaryOrDamaged(record);
  }

  async getSession(ref: string): Promise<SessionSummary> {
    const { record, log } = await this.openLog(ref);
    return { ...publicFields(record), updatedAt: log.updatedAt ?? record.createdAt, messageCount: log.count };
  }

  /** The session's internal id (its messages file's name): OpenClaw's results carry it as `sessionId`. */
  sessionIdOf(ref: string): string {
    return this.require(ref).id;
  }

  /** Newest sessions first; `total` counts the sessions matching agentId and search. */
  async listSessions(options: ListSessionsOptions) {
    const limit = options.limit ?? 50;
    const search = options.search?.toLowerCase();
    const all = this.index
      .all()
      .filter((session) => !options.agentId || session.agentId === options.agentId)
      .filter(
        (session) =>
          !search ||
          session.title.toLowerCase().includes(search) ||
          session.key.toLowerCase().includes(search),
      )
      .sort((a, b) =>
        a.createdAt === b.createdAt ? b.key.localeCompare(a.key) : b.createdAt.localeCompare(a.createdAt),
      );
    let start = 0;
    if (options.cursor) {
      const after = this.index.resolve(options.cursor);
      start = after ? all.indexOf(after) + 1 : 0;
      if (start === 0)
        throw new ApiError('VALIDATION_FAILED', 'Unknown cursor', {
          issues: [{ path: 'cursor', message: 'unknown cursor' }],
        });
    }
    start += options.offset ?? 0;
    const page = all.slice(start, start + limit);
    // One damaged conversation must not hide the others: it is listed, marked.
    const summaries = await Promise.all(page.map((session) => this.summaryOrDamaged(session)));
    const sessions = summaries.filter((summary) => summary !== undefined);
    const nextCursor = start + limit < all.length ? page.at(-1)?.key : undefined;
    return { sessions, total: all.length, ...(nextCursor ? { nextCursor } : {}) };
  }

  /**
   * Moves the session's key to a new, empty conversation (same agent and
   * title). The previous conversation is kept whole under its alias
   * (`SessionIndex.aliasKeyOf`) and its id. Both records go to disk in one
   * append, the re-key first: a crash in between cannot leave two
   * conversations with one key.
   */
  resetSession(ref: string, now = new Date()): Promise<SessionSummary> {
    return this.mutate(async () => {
      const previous = this.require(ref);
      const next: SessionRecord = {
        ...previous,
        id: this.newId(previous.agentId, false),
        createdAt: now.toISOString(),
      };
      await this.appendSessionRecords([{ ...previous, key: this.index.aliasKeyOf(previous) }, next]);
      return emptySummary(next);
    });
  }

  /** Forgets the session and removes its messages; its key is free again. */
  deleteSession(ref: string): Promise<{ key: string; deleted: true }> {
    return this.mutate(async () => {
      const record = this.require(ref);
      await this.appendSessionRecords([{ id: record.id, deleted: true }]);
      const log = this.logs.get(record.id);
      this.logs.delete(record.id);
      // Appends already queued end first (into the file about to go); later ones find no session.
      await log?.then(
        (opened) => opened.settled(),
        () => {},
      );
      await this.removeMessages(record.id);
      return { key: record.key, deleted: true as const };
    });
  }

  async appendMessages(ref: string, drafts: MessageDraft[]): Promise<StoredMessage[]> {
    const { record, log } = await this.openLog(ref);
    const stored = await log.append(drafts, record.key);
    const last = stored.at(-1);
    if (last) this.notifyAppended({ sessionId: record.id, agentId: record.agentId, lastSeq: last.seq });
    return stored;
  }

  /**
   * Calls `listener` after each append is on disk. Only finished messages are
   * ever appended (a streaming reply lives in `partial/` until it ends), so
   * this is the sync outbox's signal that something new may leave.
   */
  onAppended(listener: (appended: AppendedMessages) => void): () => void {
    this.appendListeners.add(listener);
    return () => this.appendListeners.delete(listener);
  }

  /** Every live conversation's record, ids included: for the sync outbox, never for clients. */
  conversationRecords(): SessionRecord[] {
    return this.index.all().map((record) => ({ ...record }));
  }

  /** One conversation's record by key or id, or undefined when it is gone. */
  conversationRecord(ref: string): SessionRecord | undefined {
    const record = this.index.resolve(ref);
    return record && { ...record };
  }

  /** Messages fromSeq..toSeq (inclusive) of a conversation, in order, in one read. */
  async readMessages(ref: string, fromSeq: number, toSeq: number): Promise<StoredMessage[]> {
    const { record, log } = await this.openLog(ref);
    return log.read(fromSeq, toSeq, record.key);
  }

  /** A page of history in ascending order: the `limit` messages just before `before` (or the newest). */
  async history(ref: string, options: { before?: number | undefined; limit?: number | undefined }) {
    const { record, log } = await this.openLog(ref);
    const limit = options.limit ?? 100;
    const end = Math.min(options.before !== undefined ? options.before - 1 : log.count, log.count);
    const start = Math.max(1, end - limit + 1);
    const messages = await log.read(start, end, record.key);
    return { messages, ...(start > 1 ? { nextBefore: start } : {}) };
  }

  /**
   * Starts persisting a streaming reply (partial-reply.ts). Once the run has
   * ended, `finishReply` stores the whole message and drops the partial file.
   * `start.sessionKey` is a session reference; the file records the key and id.
   */
  async beginReply(
    start: Omit<PartialReplyStart, 'type' | 'sessionId'>,
    options: { policy?: BatchPolicy; schedule?: Scheduler } = {},
  ): Promise<PartialReply> {
    const record = this.require(start.sessionKey);
    await mkdir(join(this.dir, 'partial'), { recursive: true, mode: 0o700 });
    return PartialReply.begin(
      join(this.dir, 'partial'),
      { ...start, sessionKey: record.key, sessionId: record.id },
      {
        ...options,
        onError: (error) =>
          this.logger.warn(`store: could not save part of a streaming reply (${(error as Error).message})`),
      },
    );
  }

  async finishReply(partial: PartialReply, draft: MessageDraft): Promise<StoredMessage> {
    const [stored] = await this.appendMessages(partial.start.sessionId ?? partial.start.sessionKey, [
      { ...draft, id: partial.start.messageId },
    ]);
    await partial.discard();
    return stored as StoredMessage;
  }

  private notifyAppended(appended: AppendedMessages): void {
    for (const listener of this.appendListeners) {
      try {
        listener(appended);
      } catch (error) {
        this.logger.warn(`store: an append listener failed: ${(error as Error).message}`);
      }
    }
  }

  /**
   * Replies whose run stopped with the process (kill -9, power loss) become
   * `interrupted` messages holding the text that had reached the disk.
   */
  private async recoverInterruptedReplies(): Promise<void> {
    const dir = join(this.dir, 'partial');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    for (const { path, start, text } of await findPartialReplies(dir, (message) =>
      this.logger.warn(message),
    )) {
      // Files written before session keys name the session by its id, in `sessionKey`.
      const session = this.index.resolve(start.sessionId ?? start.sessionKey);
      if (!session) {
        this.logger.warn(`store: dropped a partial reply of an unknown session (${path})`);
        await unlink(path);
        continue;
      }
      try {
        const { messages } = await this.history(session.id, { limit: 1 });
        // The finished reply may be stored already: the process stopped before removing this file.
        if (messages[0]?.id !== start.messageId) {
          const reply = { content: text, createdAt: start.createdAt, runId: start.runId };
          await this.appendMessages(session.id, [
            { id: start.messageId, role: 'assistant', ...reply, status: 'interrupted' },
          ]);
          this.logger.warn(
            `store: a reply in session ${session.key} was cut off when the gateway stopped; kept ${text.length} characters, marked interrupted`,
          );
        }
        await unlink(path);
      } catch (error) {
        // A conversation that cannot be read keeps its partial reply for a later start; the rest opens.
        this.logger.warn(`store: could not recover the partial reply ${path}: ${(error as Error).message}`);
      }
    }
  }

  /** Messages files of deleted sessions: left when the process stopped between the tombstone and the unlink. */
  private async removeDeletedLeftovers(): Promise<void> {
    if (this.index.deletedIds.size === 0) return;
    for (const name of await readdir(join(this.dir, 'messages'))) {
      const id = name.slice(0, -'.log'.length);
      if (name.endsWith('.log') && this.index.deletedIds.has(id)) await this.removeMessages(id);
    }
  }

  private async removeMessages(id: string): Promise<void> {
    await unlink(join(this.dir, 'messages', `${id}.log`)).catch((error: NodeJS.ErrnoException) => {
      // The session is deleted either way; the next open tries again.
      if (error.code !== 'ENOENT')
        this.logger.warn(`store: could not remove the messages of deleted session ${id}: ${error.message}`);
    });
  }

  /** Runs changes to `sessions.log` one at a time, each seeing the previous one's result. */
  private mutate<T>(work: () => Promise<T>): Promise<T> {
    const run = this.sessionsTail.then(work);
    this.sessionsTail = run.catch(() => {});
    return run;
  }

  /** Appends records as one fsync'd write, then applies them in memory. */
  private async appendSessionRecords(records: SessionsLogRecord[]): Promise<void> {
    const bytes = Buffer.concat(records.map((record) => encodeRecord(record)));
    await appendRecordsAt(join(this.dir, 'sessions.log'), bytes, this.sessionsSize);
    this.sessionsSize += bytes.length;
    for (const record of records) this.index.apply(record);
  }

  /** A fresh id; with `asKey`, `agent:<agentId>:<id>` must be free too. */
  private newId(agentId: string, asKey: boolean): string {
    let id = randomUUID();
    while (this.index.has(id) || (asKey && this.index.has(sessionKeyOf(agentId, id)))) id = randomUUID();
    return id;
  }

  private require(ref: string): SessionRecord {
    const record = this.index.resolve(ref);
    if (!record) throw new ApiError('NOT_FOUND', 'No such session');
    return record;
  }

  /** The session's record and open log; the record read after the log opened, so its key is current. */
  private async openLog(ref: string): Promise<{ record: SessionRecord; log: MessageLog }> {
    const { id } = this.require(ref);
    const log = await this.log(id);
    return { record: this.require(id), log };
  }

  /** The summary; a damaged session's marked `damaged`; undefined if deleted meanwhile. */
  private summaryOrDamaged(record: SessionRecord): Promise<SessionSummary | undefined> {
    return this.getSession(record.id).catch((error: unknown) => {
      if (!(error instanceof ApiError)) throw error;
      if (error.code === 'NOT_FOUND') return undefined;
      if (error.code !== 'STORE_SESSION_DAMAGED') throw error;
      return { ...emptySummary(record), damaged: true as const };
    });
  }

  private log(id: string): Promise<MessageLog> {
    let log = this.logs.get(id);
    if (!log) {
      const path = join(this.dir, 'messages', `${id}.log`);
      const key = this.require(id).key;
      log = MessageLog.open(path).then(
        ({ log: opened, truncatedBytes }) => {
          if (truncatedBytes)
            this.logger.warn(
              `store: dropped a torn message at the end of session ${key} (${truncatedBytes} bytes)`,
            );
          return opened;
        },
        (error: unknown) => {
          this.logger.warn(`store: conversation ${key} cannot be read: ${(error as Error).message}`);
          throw new ApiError(
            'STORE_SESSION_DAMAGED',
            `This conversation's file (${path}) is damaged and cannot be read; other conversations are unaffected. ` +
              'Run "multiclaw-gateway doctor" for details; move the file aside to drop the conversation.',
          );
        },
      );
      log.catch(() => this.logs.delete(id));
      this.logs.set(id, log);
    }
    return log;
  }
}

/** What clients see of a session record: never its id. */
function publicFields(record: SessionRecord) {
  return { key: record.key, agentId: record.agentId, title: record.title, createdAt: record.createdAt };
}

function emptySummary(record: SessionRecord): SessionSummary {
  return { ...publicFields(record), updatedAt: record.createdAt, messageCount: 0 };
}

/** Reads `sessions.log` (any version of its records): a torn tail (crash) is cut off, damage in the middle refuses. */
async function loadSessions(path: string, logger: StoreLogger) {
  const { records, size } = await loadRecordFile(path, (bytes) =>
    logger.warn(`store: dropped a torn record at the end of ${path} (${bytes} bytes)`),
  );
  const index = new SessionIndex();
  for (const record of records as Parameters<typeof upgradeRecord>[0][])
    index.apply(upgradeRecord(record), (message) => logger.warn(`store: ${message}`));
  return { index, size };
}
