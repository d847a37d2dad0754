import { appendFile, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeRecord } from '../store/record-file.js';
import { CursorLog } from './cursor-log.js';

let dir: string;
let path: string;
const warnings: string[] = [];
const logger = { warn: (message: string) => warnings.push(message) };

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gw-cursors-'));
  path = join(dir, 'workspace.log');
  warnings.length = 0;
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('the cursor log', () => {
  it('keeps the last entry of each conversation across reopening, in a private file', async () => {
    const log = await CursorLog.open(path, logger);
    await log.record([
      { conversationId: 'a', ackedSeq: 3, state: 'syncing' },
      { conversationId: 'b', ackedSeq: 1, state: 'syncing' },
    ]);
    await log.record([{ conversationId: 'a', ackedSeq: 7, state: 'syncing' }]);
    await log.record([{ conversationId: 'b', ackedSeq: 1, state: 'deleted' }]);
    const again = await CursorLog.open(path, logger);
    expect(again.get('a')).toEqual({ conversationId: 'a', ackedSeq: 7, state: 'syncing' });
    expect(again.get('b')?.state).toBe('deleted');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it('compacts a grown log to one entry per conversation on open', async () => {
    const log = await CursorLog.open(path, logger);
    for (let seq = 1; seq <= 100; seq++)
      await log.record([
        { conversationId: 'a', ackedSeq: seq, state: 'syncing' },
        { conversationId: 'b', ackedSeq: seq * 2, state: 'syncing' },
      ]);
    const before = (await stat(path)).size;
    const again = await CursorLog.open(path, logger);
    expect((await readFile(path, 'utf8')).trim().split('\n')).toHaveLength(2);
    expect((await stat(path)).size).toBeLessThan(before / 50);
    expect([again.get('a')?.ackedSeq, again.get('b')?.ackedSeq]).toEqual([100, 200]);
    await again.record([{ conversationId: 'a', ackedSeq: 101, state: 'syncing' }]);
    expect((await CursorLog.open(path, logger)).get('a')?.ackedSeq).toBe(101);
  });

  it('cuts a torn last record off', async () => {
    const log = await CursorLog.open(path, logger);
    await log.record([{ conversationId: 'a', ackedSeq: 2, state: 'syncing' }]);
    const torn = encodeRecord({ conversationId: 'a', ackedSeq: 3, state: 'syncing' });
    await appendFile(path, torn.subarray(0, torn.length - 5));
    const again = await CursorLog.open(path, logger);
    expect(again.get('a')?.ackedSeq).toBe(2);
    expect(warnings).toEqual([expect.stringMatching(/^sync: dropped a torn cursor record at the end of /)]);
  });

  it('moves a damaged log aside and starts over, rather than trusting or refusing it', async () => {
    const good = encodeRecord({ conversationId: 'a', ackedSeq: 2, state: 'syncing' });
    const flipped = Buffer.from(good);
    flipped[20] = flipped[20] === 0x31 ? 0x32 : 0x31;
    await writeFile(path, Buffer.concat([flipped, good]));
    const log = await CursorLog.open(path, logger);
    expect(log.all()).toEqual([]);
    expect(warnings[0]).toMatch(/is damaged; moved it to .*\.damaged-\d+ and starting over/);
    expect((await readdir(dir)).some((name) => name.startsWith('workspace.log.damaged-'))).toBe(true);

    // A checksummed record that is not a cursor entry is damage too.
    await writeFile(path, encodeRecord({ conversationId: 'a', ackedSeq: -1, state: 'syncing' }));
    expect((await CursorLog.open(path, logger)).all()).toEqual([]);
  });
});
