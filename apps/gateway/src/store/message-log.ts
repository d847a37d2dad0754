import { open, truncate } from 'node:fs/promises';
import { type StoredMessage, StoredMessage as StoredMessageSchema } from '@multiclaw/protocol';
import {
  appendRecordsAt,
  decodeRecord,
  encodeRecord,
  StoreDamagedError,
  scanRecordFile,
} from './record-file.js';

export { StoreDamagedError };

export type MessageDraft = Omit<StoredMessage, 'seq' | 'sessionKey'>;

/**
 * One conversation's messages: an append-only record file plus an in-memory
 * index of record offsets, so message `seq` n is record n − 1 and any page of
 * history is one positioned read. Appends are serialised and fsync'd before
 * they resolve; a torn tail left by a crash is cut off when the log opens.
 * The log does not know its conversation's key, which a reset can change:
 * appends are given it, and reads show it on every message (records written
 * under an earlier key, or before session keys, hold that one on disk).
 */
export class MessageLog {
  private tail: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly path: string,
    private readonly offsets: number[],
    private size: number,
    private lastCreatedAt: string | undefined,
  ) {}

  static async open(path: string): Promise<{ log: MessageLog; truncatedBytes: number }> {
    const handle = await open(path, 'a', 0o600);
    await handle.close();
    const scan = await scanRecordFile(path);
    if (scan.damagedAt !== undefined) throw new StoreDamagedError(path, scan.damagedAt);
    const truncatedBytes = scan.fileSize - scan.validEnd;
    if (truncatedBytes > 0) await truncate(path, scan.validEnd);
    const last = scan.lastLine ? (decodeRecord(scan.lastLine) as StoredMessage).createdAt : undefined;
    return { log: new MessageLog(path, scan.offsets, scan.validEnd, last), truncatedBytes };
  }

  get count(): number {
    return this.offsets.length;
  }

  get updatedAt(): string | undefined {
    return this.lastCreatedAt;
  }

  /** Appends messages with the next sequence numbers; resolves once they are on disk. */
  append(drafts: MessageDraft[], sessionKey: string): Promise<StoredMessage[]> {
    const run = this.tail.then(() => this.write(drafts, sessionKey));
    this.tail = run.catch(() => {});
    return run;
  }

  /** Resolves once every append started so far has ended. */
  settled(): Promise<void> {
    return this.tail.then(() => {});
  }

  private async write(drafts: MessageDraft[], sessionKey: string): Promise<StoredMessage[]> {
    const messages = drafts.map((draft, index) =>
      StoredMessageSchema.parse({
        ...draft,
        sessionKey,
        seq: this.offsets.length + index + 1,
      }),
    );
    const records = messages.map((message) => encodeRecord(message));
    const bytes = Buffer.concat(records);
    await appendRecordsAt(this.path, bytes, this.size);
    let offset = this.size;
    for (const record of records) {
      this.offsets.push(offset);
      offset += record.length;
    }
    this.size = offset;
    this.lastCreatedAt = messages.at(-1)?.createdAt ?? this.lastCreatedAt;
    return messages;
  }

  /** Messages with fromSeq ≤ seq ≤ toSeq, in order, in one read, shown under `sessionKey`. */
  async read(fromSeq: number, toSeq: number, sessionKey: string): Promise<StoredMessage[]> {
    const first = Math.max(1, fromSeq);
    const last = Math.min(this.offsets.length, toSeq);
    if (last < first) return [];
    const start = this.offsets[first - 1] as number;
    const end = last < this.offsets.length ? (this.offsets[last] as number) : this.size;
    const buffer = Buffer.allocUnsafe(end - start);
    const handle = await open(this.path, 'r');
    try {
      await handle.read(buffer, 0, buffer.length, start);
    } finally {
      await handle.close();
    }
    const messages: StoredMessage[] = [];
    let lineStart = 0;
    for (let index = buffer.indexOf(0x0a); index !== -1; index = buffer.indexOf(0x0a, lineStart)) {
      messages.push({ ...(decodeRecord(buffer.subarray(lineStart, index)) as StoredMessage), sessionKey });
      lineStart = index + 1;
    }
    return messages;
  }
}
