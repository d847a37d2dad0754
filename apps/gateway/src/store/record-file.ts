import { open, readFile, truncate } from 'node:fs/promises';
import { crc32 } from 'node:zlib';

/**
 * The on-disk record format of every store file: one record per line,
 * `<crc32 of the JSON, 8 hex digits> <JSON>\n`. A record counts only when its
 * line is complete and its checksum matches, so a write cut short by a crash
 * is recognised as torn and never read as data. (docs/gateway-store.md)
 */
const NEWLINE = 0x0a;

export function encodeRecord(value: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(value), 'utf8');
  const checksum = Buffer.from(`${crc32(json).toString(16).padStart(8, '0')} `, 'latin1');
  return Buffer.concat([checksum, json, Buffer.from('\n')]);
}

/** The JSON text of one complete line (without its newline), or undefined when the checksum fails. */
export function verifiedJson(line: Buffer): Buffer | undefined {
  if (line.length < 10 || line[8] !== 0x20) return undefined;
  const json = line.subarray(9);
  const expected = Number.parseInt(line.subarray(0, 8).toString('latin1'), 16);
  return Number.isNaN(expected) || crc32(json) !== expected ? undefined : json;
}

export function decodeRecord(line: Buffer): unknown {
  const json = verifiedJson(line);
  if (!json) throw new Error('record checksum mismatch');
  return JSON.parse(json.toString('utf8'));
}

export interface ScanResult {
  /** Byte offset where each valid record starts, in file order. */
  offsets: number[];
  /** Where the valid records end: anything after this is a torn tail. */
  validEnd: number;
  fileSize: number;
  /** The last valid record's line (without newline), for cheap summaries. */
  lastLine: Buffer | undefined;
  /** Set when an invalid record is followed by valid ones: not a torn tail but damage. */
  damagedAt: number | undefined;
}

/** Reads a record file in chunks, verifying each line's checksum. */
export async function scanRecordFile(path: string, chunkSize = 1 << 20): Promise<ScanResult> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const offsets: number[] = [];
    let validEnd = 0;
    let lastLine: Buffer | undefined;
    let firstInvalid: number | undefined;
    let damagedAt: number | undefined;
    let carry = Buffer.alloc(0);
    let carryStart = 0;
    let position = 0;
    while (position < size) {
      const chunk = Buffer.allocUnsafe(Math.min(chunkSize, size - position));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, position);
      if (bytesRead === 0) break;
      position += bytesRead;
      const data = carry.length
        ? Buffer.concat([carry, chunk.subarray(0, bytesRead)])
        : chunk.subarray(0, bytesRead);
      let lineStart = 0;
      for (let index = data.indexOf(NEWLINE); index !== -1; index = data.indexOf(NEWLINE, lineStart)) {
        const line = data.subarray(lineStart, index);
        const offset = carryStart + lineStart;
        if (verifiedJson(line)) {
          if (firstInvalid !== undefined) damagedAt ??= firstInvalid;
          offsets.push(offset);
          validEnd = carryStart + index + 1;
          lastLine = Buffer.from(line);
        } else {
          firstInvalid ??= offset;
        }
        lineStart = index + 1;
      }
      carry = Buffer.from(data.subarray(lineStart));
      carryStart += lineStart;
    }
    return { offsets, validEnd, fileSize: size, lastLine, damagedAt };
  } finally {
    await handle.close();
  }
}

/**
 * Appends encoded records at `position` (the file's valid end) and fsyncs
 * before resolving. On failure the file is cut back to `position`, so no
 * partial record is left for the next append to follow.
 */
export async function appendRecordsAt(path: string, bytes: Buffer, position: number): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.write(bytes, 0, bytes.length, position);
    await handle.datasync();
  } catch (error) {
    await handle.truncate(position).catch(() => {});
    throw error;
  } finally {
    await handle.close();
  }
}

export class StoreDamagedError extends Error {
  constructor(
    readonly path: string,
    readonly offset: number,
  ) {
    super(`${path} is damaged at byte ${offset}: a record in the middle of the file fails its checksum`);
    this.name = 'StoreDamagedError';
  }
}

/**
 * Opens (creating, 0600) a small record file and decodes every record. A torn
 * tail — what a crash mid-append leaves — is cut off and reported through
 * `onTornTail`; damage in the middle throws instead of silently skipping records.
 */
export async function loadRecordFile(
  path: string,
  onTornTail: (bytes: number) => void,
): Promise<{ records: unknown[]; size: number }> {
  await (await open(path, 'a', 0o600)).close();
  const scan = await scanRecordFile(path);
  if (scan.damagedAt !== undefined) throw new StoreDamagedError(path, scan.damagedAt);
  if (scan.fileSize > scan.validEnd) {
    onTornTail(scan.fileSize - scan.validEnd);
    await truncate(path, scan.validEnd);
  }
  const records: unknown[] = [];
  if (scan.offsets.length) {
    const text = await readFile(path);
    for (const offset of scan.offsets)
      records.push(decodeRecord(text.subarray(offset, text.indexOf(0x0a, offset))));
  }
  return { records, size: scan.validEnd };
}
