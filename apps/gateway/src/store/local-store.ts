import { randomUUID } from 'node:crypto';
import { mkdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { SessionSummary, StoredMessage } from '@multiclaw/protocol';
import { ApiError } from '@multiclaw/protocol';
import { acquireFileLock, type FileLock, LockHeldError } from '../config/file-lock.js';
import { type MessageDraft, MessageLog } from './message-log.js';
import { type BatchPolicy, findPartialReplies, PartialReply, type Scheduler } from './partial-reply.js';
import { appendRecordsAt, encodeRecord, loadRecordFile } from './record-file.js';

interface SessionRecord {
  key: string;
  agentId: string;
  title: string;
  createdAt: string;
}

export interface StoreLogger {
  warn(message: string): void;
}

export class StoreLockedError extends Error {
  constructor(readonly pid: number) {
    super(`another gateway (process ${pid}) is using this state directory`);
    this.name = 'StoreLockedError';
  }
}

/**
 * The gateway's local store (docs/gateway-store.md): `sessions.log` lists the
 * conversations, `messages/<session>.log` holds each one's messages. All are
 * record files (record-file.ts). One gateway process owns a store at a time.
 */
export class LocalStore {
  private readonly logs = new Map<string, Promise<MessageLog>>();
  private sessionsTail: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly dir: string,
    private readonly sessions: Map<string, SessionRecord>,
    private sessionsSize: number,
    private readonly logger: StoreLogger,
  ) {}

  static async open(dir: string, logger: StoreLogger): Promise<LocalStore> {
    await mkdir(join(dir, 'messages'), { recursive: true, mode: 0o700 });
    const lock = join(dir, 'store.lock');
    await acquireStoreLock(lock);
    try {
      const { sessions, size } = await loadSessions(join(dir, 'sessions.log'), logger);
      const store = new LocalStore(dir, sessions, size, logger);
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

  async createSession(agentId: string, title: string, now = new Date()): Promise<SessionSummary> {
    const record: SessionRecord = {
      key: randomUUID(),
      agentId,
      title: title.slice(0, 200),
      createdAt: now.toISOString(),
    };
    const run = this.sessionsTail.then(async () => {
      const bytes = encodeRecord(record);
      await appendRecordsAt(join(this.dir, 'sessions.log'), bytes, this.sessionsSize);
      this.sessionsSize += bytes.length;
      this.sessions.set(record.key, record);
    });
    this.sessionsTail = run.catch(() => {});
    await run;
    return { ...record, updatedAt: record.createdAt, messageCount: 0 };
  }

  async getSession(key: string): Promise<SessionSummary> {
    const record = this.requireSession(key);
    const log = await this.log(key);
    return { ...record, updatedAt: log.updatedAt ?? record.createdAt, messageCount: log.count };
  }

  /** Newest sessions first; the cursor is the key of the last session of the previous page. */
  async listSessions(options: {
    agentId?: string | undefined;
    limit?: number | undefined;
    cursor?: string | undefined;
  }) {
    const limit = options.limit ?? 50;
    const all = [...this.sessions.values()]
      .filter((session) => !options.agentId || session.agentId === options.agentId)
      .sort((a, b) =>
        a.createdAt === b.createdAt ? b.key.localeCompare(a.key) : b.createdAt.localeCompare(a.createdAt),
      );
    let start = 0;
    if (options.cursor) {
      start = all.findIndex((session) => session.key === options.cursor) + 1;
      if (start === 0)
        throw new ApiError('VALIDATION_FAILED', 'Unknown cursor', {
          issues: [{ path: 'cursor', message: 'unknown cursor' }],
        });
    }
    const page = all.slice(start, start + limit);
    // One damaged conversation must not hide the others: it is listed, marked.
    const sessions = await Promise.all(
      page.map((session) =>
        this.getSession(session.key).catch((error: unknown) => {
          if (!(error instanceof ApiError && error.code === 'STORE_SESSION_DAMAGED')) throw error;
          const summary: SessionSummary = {
            ...session,
            updatedAt: session.createdAt,
            messageCount: 0,
            damaged: true,
          };
          return summary;
        }),
      ),
    );
    const nextCursor = start + limit < all.length ? page.at(-1)?.key : undefined;
    return { sessions, ...(nextCursor ? { nextCursor } : {}) };
  }

  async appendMessages(key: string, drafts: MessageDraft[]): Promise<StoredMessage[]> {
    this.requireSession(key);
    return (await this.log(key)).append(drafts);
  }

  /** A page of history in ascending order: the `limit` messages just before `before` (or the newest). */
  async history(key: string, options: { before?: number | undefined; limit?: number | undefined }) {
    this.requireSession(key);
    const log = await this.log(key);
    const limit = options.limit ?? 100;
    const end = Math.min(options.before !== undefined ? options.before - 1 : log.count, log.count);
    const start = Math.max(1, end - limit + 1);
    const messages = await log.read(start, end);
    return { messages, ...(start > 1 ? { nextBefore: start } : {}) };
  }

  /**
   * Starts persisting a streaming reply (partial-reply.ts). Once the run has
   * ended, `finishReply` stores the whole message and drops the partial file.
   */
  async beginReply(
    start: { runId: string; sessionKey: string; messageId: string; createdAt: string },
    options: { policy?: BatchPolicy; schedule?: Scheduler } = {},
  ): Promise<PartialReply> {
    this.requireSession(start.sessionKey);
    await mkdir(join(this.dir, 'partial'), { recursive: true, mode: 0o700 });
    return PartialReply.begin(join(this.dir, 'partial'), start, {
      ...options,
      onError: (error) =>
        this.logger.warn(`store: could not save part of a streaming reply (${(error as Error).message})`),
    });
  }

  async finishReply(partial: PartialReply, draft: MessageDraft): Promise<StoredMessage> {
    const [stored] = await this.appendMessages(partial.start.sessionKey, [
      { ...draft, id: partial.start.messageId },
    ]);
    await partial.discard();
    return stored as StoredMessage;
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
      if (!this.sessions.has(start.sessionKey)) {
        this.logger.warn(`store: dropped a partial reply of an unknown session (${path})`);
        await unlink(path);
        continue;
      }
      try {
        const { messages } = await this.history(start.sessionKey, { limit: 1 });
        // The finished reply may be stored already: the process stopped before removing this file.
        if (messages[0]?.id !== start.messageId) {
          const reply = { content: text, createdAt: start.createdAt, runId: start.runId };
          await this.appendMessages(start.sessionKey, [
            { id: start.messageId, role: 'assistant', ...reply, status: 'interrupted' },
          ]);
          this.logger.warn(
            `store: a reply in session ${start.sessionKey} was cut off when the gateway stopped; kept ${text.length} characters, marked interrupted`,
          );
        }
        await unlink(path);
      } catch (error) {
        // A conversation that cannot be read keeps its partial reply for a later start; the rest opens.
        this.logger.warn(`store: could not recover the partial reply ${path}: ${(error as Error).message}`);
      }
    }
  }

  private requireSession(key: string): SessionRecord {
    const record = this.sessions.get(key);
    if (!record) throw new ApiError('NOT_FOUND', 'No such session');
    return record;
  }

  private log(key: string): Promise<MessageLog> {
    let log = this.logs.get(key);
    if (!log) {
      const path = join(this.dir, 'messages', `${key}.log`);
      log = MessageLog.open(path, key).then(
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
      log.catch(() => this.logs.delete(key));
      this.logs.set(key, log);
    }
    return log;
  }
}

/** The store locks this process holds, by path (config/file-lock.ts: the gateway's one lock mechanism). */
const heldLocks = new Map<string, FileLock>();

/** Fails at once when another live gateway (or this process) holds the store; takes over a stale lock. */
async function acquireStoreLock(path: string): Promise<void> {
  try {
    heldLocks.set(path, await acquireFileLock(path, { waitMs: 0 }));
  } catch (error) {
    if (error instanceof LockHeldError) throw new StoreLockedError(error.owner?.pid ?? 0);
    throw error;
  }
}

async function releaseStoreLock(path: string): Promise<void> {
  const lock = heldLocks.get(path);
  heldLocks.delete(path);
  await lock?.release();
}

/** Reads `sessions.log`: a torn tail (crash) is cut off, damage in the middle refuses. */
async function loadSessions(path: string, logger: StoreLogger) {
  const { records, size } = await loadRecordFile(path, (bytes) =>
    logger.warn(`store: dropped a torn record at the end of ${path} (${bytes} bytes)`),
  );
  const sessions = new Map<string, SessionRecord>();
  for (const record of records as SessionRecord[]) sessions.set(record.key, record);
  return { sessions, size };
}
