import { open } from 'node:fs/promises';
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
