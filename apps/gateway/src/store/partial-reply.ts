import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { appendRecordsAt, encodeRecord, loadRecordFile, StoreDamagedError } from './record-file.js';

/**
 * An assistant reply while it streams: `partial/<runId>.log`, a record file
 * holding one `start` record, then the reply text in `text` records appended
 * in batches. A crash keeps every batch that reached the disk; the next store
 * open turns the file into an `interrupted` message (docs/gateway-store.md).
 * The file is removed once the finished reply is in the conversation's log.
 */
export interface PartialReplyStart {
  type: 'start';
  runId: string;
  sessionKey: string;
  /**
   * The conversation's id (local-store.ts), which finds it even if its key
   * has moved on. Absent in files written before session keys, whose
   * `sessionKey` is that id.
   */
  sessionId?: string;
  /** The id the reply's message gets, whether it finishes or is recovered. */
  messageId: string;
  createdAt: string;
}

interface PartialText {
  type: 'text';
  text: string;
}

export interface BatchPolicy {
  /** Flush buffered text at most this long after the first unflushed delta. */
  maxDelayMs: number;
  /** Flush at once when this many deltas are buffered. */
  maxDeltas: number;
}

export const DEFAULT_BATCH: BatchPolicy = { maxDelayMs: 200, maxDeltas: 64 };

/** Schedules `flush` after `ms`; returns a cancel function. Injected by tests. */
export type Scheduler = (flush: () => void, ms: number) => () => void;

const realScheduler: Scheduler = (flush, ms) => {
  const timer = setTimeout(flush, ms);
  return () => clearTimeout(timer);
};

export class PartialReply {
  private buffered: string[] = [];
  private cancelTimer: (() => void) | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    readonly path: string,
    readonly start: PartialReplyStart,
    private size: number,
    private readonly policy: BatchPolicy,
    private readonly schedule: Scheduler,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Creates the file with its start record, on disk before this resolves. */
  static async begin(
    dir: string,
    start: Omit<PartialReplyStart, 'type'>,
    options: { policy?: BatchPolicy; schedule?: Scheduler; onError: (error: unknown) => void },
  ): Promise<PartialReply> {
    const path = join(dir, `${start.runId}.log`);
    const record: PartialReplyStart = { type: 'start', ...start };
    await loadRecordFile(path, () => {}); // creates it 0600 (a leftover of the same run id cannot exist)
    const bytes = encodeRecord(record);
    await appendRecordsAt(path, bytes, 0);
    return new PartialReply(
      path,
      record,
      bytes.length,
      options.policy ?? DEFAULT_BATCH,
      options.schedule ?? realScheduler,
      options.onError,
    );
  }

  /** Buffers one delta; the batch is written when it is full or its delay is up. Never throws. */
  add(delta: string): void {
    if (this.closed || !delta) return;
    this.buffered.push(delta);
    if (this.buffered.length >= this.policy.maxDeltas) this.flush();
    else this.cancelTimer ??= this.schedule(() => this.flush(), this.policy.maxDelayMs);
  }

  /** Writes what is buffered as one record (one fsync). Write failures go to onError: the run goes on. */
  flush(): Promise<void> {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    if (this.buffered.length === 0) return this.tail.then(() => {});
    const record: PartialText = { type: 'text', text: this.buffered.join('') };
    this.buffered = [];
    const run = this.tail.then(async () => {
      const bytes = encodeRecord(record);
      await appendRecordsAt(this.path, bytes, this.size);
      this.size += bytes.length;
    });
    this.tail = run.catch(this.onError);
    return this.tail.then(() => {});
  }

  /** Resolves once every write started so far has ended (tests, shutdown). */
  settled(): Promise<void> {
    return this.tail.then(() => {});
  }

  /** Stops batching and removes the file: call once the finished reply is stored. */
  async discard(): Promise<void> {
    this.closed = true;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.buffered = [];
    await this.tail;
    await unlink(this.path).catch(() => {});
  }
}

export interface RecoveredReply {
  path: string;
  start: PartialReplyStart;
  text: string;
}

/**
 * Every partial reply left by a process that stopped mid-run. A torn tail is
 * cut off, as in every store file; a file damaged in the middle is reported
 * and left in place, never read past the damage; one that never got its start
 * record on disk held no text yet and is removed.
 */
export async function findPartialReplies(
  dir: string,
  warn: (message: string) => void,
): Promise<RecoveredReply[]> {
  const names = (await readdir(dir)).filter((name) => name.endsWith('.log')).sort();
  const found: RecoveredReply[] = [];
  for (const name of names) {
    const path = join(dir, name);
    let records: unknown[];
    try {
      ({ records } = await loadRecordFile(path, () => {}));
    } catch (error) {
      if (!(error instanceof StoreDamagedError)) throw error;
      warn(`store: ${error.message}; it is left in place for inspection`);
      continue;
    }
    const [start, ...texts] = records as [PartialReplyStart | undefined, ...PartialText[]];
    if (start?.type !== 'start') {
      // Killed before the start record was on disk: nothing of the reply had been kept yet.
      await unlink(path).catch(() => {});
      continue;
    }
    found.push({ path, start, text: texts.map((record) => record.text).join('') });
  }
  return found;
}
