import { open, rename } from 'node:fs/promises';
import { removeStaleTempFiles, writeFileAtomic } from '@multiclaw/runtime/atomic-write';
import { z } from 'zod';
import { appendRecordsAt, encodeRecord, loadRecordFile, StoreDamagedError } from '../store/record-file.js';

/**
 * Where each conversation stands with one workspace: the highest seq the
 * cloud acknowledged, and whether the cloud deleted or refused it.
 */
export const CursorEntry = z.strictObject({
  conversationId: z.string().min(1).max(200),
  ackedSeq: z.number().int().nonnegative(),
  /** `deleted` and `refused` are final: nothing more of that conversation is sent to this workspace. */
  state: z.enum(['syncing', 'deleted', 'refused']),
  code: z.string().max(200).optional(),
});
export type CursorEntry = z.infer<typeof CursorEntry>;

export interface CursorLogger {
  warn(message: string): void;
}

/**
 * One workspace's sync cursors (`store/sync/<workspaceId>.log`): an
 * append-only record file (the store's format: checksummed lines, fsync'd,
 * a torn tail cut off on open) where the last entry of a conversation wins.
 * An entry is written only after the cloud's ack and before the outbox moves
 * on, so a crash can only leave a cursor behind the cloud (the resend is
 * applied idempotently), never ahead of it. The log is compacted on open.
 *
 * Cursors only save resending: the cloud's ack is the truth. A damaged log is
 * moved aside and the outbox starts over; the cloud answers the resend with
 * what it already holds (and `deleted` for what it deleted).
 */
export class CursorLog {
  private tail: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly path: string,
    private readonly entries: Map<string, CursorEntry>,
    private size: number,
  ) {}

  static async open(path: string, logger: CursorLogger): Promise<CursorLog> {
    // A compaction killed mid-write leaves only its temp file; the log itself is whole.
    await removeStaleTempFiles(path);
    let loaded = await load(path, logger);
    if (!loaded) {
      const aside = `${path}.damaged-${Date.now()}`;
      await rename(path, aside);
      logger.warn(
        `sync: the cursor log ${path} is damaged; moved it to ${aside} and starting over (the cloud answers a resend with what it already holds: nothing is stored twice)`,
      );
      loaded = { entries: new Map(), records: 0, size: 0 };
      await (await open(path, 'a', 0o600)).close();
    }
    const { entries } = loaded;
    if (loaded.records > 2 * entries.size + 64) {
      const compacted = Buffer.concat([...entries.values()].map((entry) => encodeRecord(entry)));
      await writeFileAtomic(path, compacted);
      return new CursorLog(path, entries, compacted.length);
    }
    return new CursorLog(path, entries, loaded.size);
  }

  get(conversationId: string): CursorEntry | undefined {
    return this.entries.get(conversationId);
  }

  all(): CursorEntry[] {
    return [...this.entries.values()];
  }

  /** Appends the entries as one fsync'd write; they count (and `get` shows them) once it is on disk. */
  record(updates: CursorEntry[]): Promise<void> {
    const run = this.tail.then(async () => {
      if (updates.length === 0) return;
      const bytes = Buffer.concat(updates.map((entry) => encodeRecord(CursorEntry.parse(entry))));
      await appendRecordsAt(this.path, bytes, this.size);
      this.size += bytes.length;
      for (const entry of updates) this.entries.set(entry.conversationId, entry);
    });
    this.tail = run.catch(() => {});
    return run;
  }

  /** Resolves once every write started so far has ended. */
  async close(): Promise<void> {
    await this.tail;
  }
}

/** The log's entries (the last of each conversation), or undefined when it is damaged. */
async function load(path: string, logger: CursorLogger) {
  try {
    const { records, size } = await loadRecordFile(path, (bytes) =>
      logger.warn(`sync: dropped a torn cursor record at the end of ${path} (${bytes} bytes)`),
    );
    const entries = new Map<string, CursorEntry>();
    for (const record of records) {
      const entry = CursorEntry.safeParse(record);
      if (!entry.success) return undefined;
      entries.set(entry.data.conversationId, entry.data);
    }
    return { entries, records: records.length, size };
  } catch (error) {
    if (error instanceof StoreDamagedError) return undefined;
    throw error;
  }
}
