import { writeFileAtomic } from '../config/atomic-write.js';
import { appendRecordsAt, encodeRecord, loadRecordFile } from '../store/record-file.js';

export interface IdempotencyEntry {
  key: string;
  /** Hash of the request, so a reused key with different content is refused. */
  requestHash: string;
  runId: string;
  sessionKey: string;
  at: number;
}

/**
 * Remembers `chat.send` idempotency keys on disk for a day, so a client that
 * retries after a lost response (or a gateway restart) never starts a second run.
 */
export class IdempotencyLog {
  private tail: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly path: string,
    private readonly entries: Map<string, IdempotencyEntry>,
    private size: number,
  ) {}

  static readonly RETENTION_MS = 24 * 60 * 60 * 1000;

  static async open(path: string, now = Date.now()): Promise<IdempotencyLog> {
    const { records, size } = await loadRecordFile(path, () => {});
    const entries = new Map<string, IdempotencyEntry>();
    for (const entry of records as IdempotencyEntry[]) {
      if (now - entry.at < IdempotencyLog.RETENTION_MS) entries.set(entry.key, entry);
    }
    if (entries.size < records.length) {
      // Compact: keep only the live entries, replacing the file atomically.
      const live = Buffer.concat([...entries.values()].map((entry) => encodeRecord(entry)));
      await writeFileAtomic(path, live);
      return new IdempotencyLog(path, entries, live.length);
    }
    return new IdempotencyLog(path, entries, size);
  }

  get(key: string): IdempotencyEntry | undefined {
    return this.entries.get(key);
  }

  record(entry: IdempotencyEntry): Promise<void> {
    this.entries.set(entry.key, entry);
    const run = this.tail.then(async () => {
      const bytes = encodeRecord(entry);
      await appendRecordsAt(this.path, bytes, this.size);
      this.size += bytes.length;
    });
    this.tail = run.catch(() => {});
    return run;
  }
}
