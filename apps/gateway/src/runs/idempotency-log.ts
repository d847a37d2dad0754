import { writeFileAtomic } from '@multiclaw/runtime/atomic-write';
import { appendRecordsAt, encodeRecord, loadRecordFile } from '../store/record-file.js';

/**
 * Where the key's run is: `running` until it ends, then `done`, or `retryable`
 * when a retry with the key may run again (the run was interrupted and that was
 * reported, or it failed in a way a retry can fix). `interrupted` is never
 * written: it is what `running` means when the log is opened, since the store
 * lock guarantees the process that wrote it is gone. Entries written before
 * states existed have none and count as `done`.
 */
export type RunState = 'running' | 'done' | 'interrupted' | 'retryable';

export interface IdempotencyEntry {
  key: string;
  /** Hash of the request, so a reused key with different content is refused. */
  requestHash: string;
  runId: string;
  sessionKey: string;
  at: number;
  state?: RunState | undefined;
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
    // A key's later records (its run's end) replace its earlier ones.
    for (const entry of records as IdempotencyEntry[]) {
      if (now - entry.at < IdempotencyLog.RETENTION_MS) entries.set(entry.key, entry);
      else entries.delete(entry.key);
    }
    for (const [key, entry] of entries) {
      if (entry.state === 'running') entries.set(key, { ...entry, state: 'interrupted' });
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

  /** Records the new state of a key's run (a record of its own: the log is append-only). */
  setState(key: string, state: RunState): Promise<void> {
    const entry = this.entries.get(key);
    if (!entry) return Promise.resolve();
    return this.record({ ...entry, state });
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
