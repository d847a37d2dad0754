import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeRecord, encodeRecord, scanRecordFile, verifiedJson } from './record-file.js';

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'gw-records-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const line = (record: Buffer) => record.subarray(0, record.length - 1);

describe('record encoding', () => {
  it('writes one checksummed JSON line per record and reads it back', () => {
    const value = { text: 'line one\nline two ✓ 𝄞', n: 42, nested: { list: [1, null, 'x'] } };
    const record = encodeRecord(value);
    expect(record.toString('utf8')).toMatch(/^[0-9a-f]{8} \{.*\}\n$/);
    expect(record.indexOf(0x0a)).toBe(record.length - 1);
    expect(decodeRecord(line(record))).toEqual(value);
  });

  it('refuses any line that is not exactly what was written', () => {
    const record = line(encodeRecord({ hello: 'world' }));
    expect(verifiedJson(record)?.toString()).toBe('{"hello":"world"}');
    for (let index = 0; index < record.length; index++) {
      const flipped = Buffer.from(record);
      flipped[index] = (flipped[index] as number) ^ 0x01;
      expect(verifiedJson(flipped), `bit flipped at byte ${index}`).toBeUndefined();
    }
    expect(verifiedJson(record.subarray(0, record.length - 1))).toBeUndefined();
    expect(verifiedJson(Buffer.from('0000000'))).toBeUndefined();
    expect(verifiedJson(Buffer.from('zzzzzzzz {}'))).toBeUndefined();
    expect(() => decodeRecord(record.subarray(0, 12))).toThrow('record checksum mismatch');
  });
});

describe('scanRecordFile', () => {
  const records = [
    encodeRecord({ n: 1 }),
    encodeRecord({ n: 2, big: 'x'.repeat(5_000) }),
    encodeRecord({ n: 3, text: 'é'.repeat(100) }),
    encodeRecord({ n: 4 }),
  ];
  const offsets: number[] = [];
  let position = 0;
  for (const record of records) {
    offsets.push(position);
    position += record.length;
  }
  const size = position;

  it('finds every record whatever the chunk size', async () => {
    const path = join(root, 'whole.log');
    await writeFile(path, Buffer.concat(records));
    for (const chunkSize of [1, 7, 64, 4096, 1 << 20]) {
      const scan = await scanRecordFile(path, chunkSize);
      expect(scan, `chunk size ${chunkSize}`).toEqual({
        offsets,
        validEnd: size,
        fileSize: size,
        lastLine: line(records[3] as Buffer),
        damagedAt: undefined,
      });
    }
  });

  it('reports an empty file as empty', async () => {
    const path = join(root, 'empty.log');
    await writeFile(path, '');
    expect(await scanRecordFile(path)).toEqual({
      offsets: [],
      validEnd: 0,
      fileSize: 0,
      lastLine: undefined,
      damagedAt: undefined,
    });
  });

  it('stops valid data before a torn tail: half a record, a record without newline, a corrupt last line', async () => {
    const extra = encodeRecord({ n: 5, text: 'the one being written' });
    const flipped = Buffer.from(extra);
    flipped[flipped.length - 2] = (flipped[flipped.length - 2] as number) ^ 0x04;
    const tails = [
      extra.subarray(0, 20),
      extra.subarray(0, extra.length - 1),
      flipped,
      Buffer.concat([flipped, extra.subarray(0, 5)]),
    ];
    for (const [index, tail] of tails.entries()) {
      const path = join(root, `torn-${index}.log`);
      await writeFile(path, Buffer.concat([...records, tail]));
      for (const chunkSize of [3, 1 << 20]) {
        const scan = await scanRecordFile(path, chunkSize);
        expect(scan.offsets, `tail ${index}`).toEqual(offsets);
        expect(scan.validEnd).toBe(size);
        expect(scan.fileSize).toBe(size + tail.length);
        expect(scan.damagedAt).toBeUndefined();
      }
    }
  });

  it('reports damage when a bad line is followed by good ones', async () => {
    const damaged = Buffer.concat(records);
    const at = (offsets[1] as number) + 30;
    damaged[at] = (damaged[at] as number) ^ 0x10;
    const path = join(root, 'damaged.log');
    await writeFile(path, damaged);
    for (const chunkSize of [5, 1 << 20]) {
      const scan = await scanRecordFile(path, chunkSize);
      expect(scan.damagedAt).toBe(offsets[1]);
      expect(scan.offsets).toEqual([offsets[0], offsets[2], offsets[3]]);
    }
  });
});
