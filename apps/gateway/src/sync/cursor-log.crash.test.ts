import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allLanes, delay, spawnTs } from '../../test/crash/harness.js';
import { scanRecordFile } from '../store/record-file.js';
import { CursorLog } from './cursor-log.js';

const CONVERSATIONS = 40;
let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'gw-cursor-crash-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

interface LaneResult {
  kills: number;
  rounds: number;
  /** Kills after which some cursor was one round past the last printed one (an append done, not yet printed). */
  unprinted: number;
  tornTails: number;
}

async function lane(iterations: number, maxDelayMs: number): Promise<LaneResult> {
  const dir = await mkdtemp(join(root, 'lane-'));
  const path = join(dir, 'workspace.log');
  const result: LaneResult = { kills: 0, rounds: 0, unprinted: 0, tornTails: 0 };
  let acked = 0;
  for (let iteration = 0; iteration < iterations; iteration++) {
    const child = spawnTs('cursor-writer.ts', [path, String(CONVERSATIONS)]);
    try {
      // Every third kill lands anywhere, the start's compaction included; the others while it records.
      if (iteration % 3 !== 0) await child.waitForLine((line) => line === 'ready');
      await delay(Math.random() * maxDelayMs);
    } finally {
      await child.kill();
    }
    expect(await child.exited, child.stderr()).toEqual({ code: null, signal: 'SIGKILL' });
    result.kills++;
    const ready = child.lines.indexOf('ready');
    const printed = ready === -1 ? [] : child.lines.slice(ready + 1).map(Number);
    expect(printed).toEqual(Array.from({ length: printed.length }, (_, index) => acked + 1 + index));
    const lastPrinted = printed.at(-1) ?? acked;

    const warnings: string[] = [];
    const log = await CursorLog.open(path, { warn: (message) => warnings.push(message) });
    // Never behind what was acknowledged and printed, never ahead by more than the one append in progress.
    const cursors = Array.from(
      { length: CONVERSATIONS },
      (_, index) => log.get(`conversation-${index}`)?.ackedSeq ?? 0,
    );
    for (const cursor of cursors) {
      expect(cursor).toBeGreaterThanOrEqual(lastPrinted);
      expect(cursor).toBeLessThanOrEqual(lastPrinted + 1);
    }
    if (cursors.some((cursor) => cursor > lastPrinted)) result.unprinted++;
    if (warnings.length) result.tornTails++;
    for (const warning of warnings)
      expect(warning).toMatch(/^sync: dropped a torn cursor record at the end of /);
    await log.close();
    const scan = await scanRecordFile(path);
    expect(scan.validEnd).toBe(scan.fileSize);
    // No compaction left its temp file behind (the next open removes a dead writer's).
    expect((await readdir(dir)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    acked = Math.max(...cursors);
  }
  result.rounds = acked;
  return result;
}

describe('sync cursors under SIGKILL', () => {
  it('are never ahead of an ack and never lose a recorded one, and the log stays readable', async () => {
    const lanes = await allLanes([lane(15, 150), lane(15, 150)]);
    const total = (field: keyof LaneResult) => lanes.reduce((sum, result) => sum + result[field], 0);
    console.log(
      `cursors: ${total('kills')} kills, ${total('rounds')} rounds of ${CONVERSATIONS} acks kept, ` +
        `${total('unprinted')} kills left a recorded-but-unprinted round, ${total('tornTails')} a torn tail`,
    );
    expect(total('kills')).toBe(30);
    // Not hollow: the children recorded many rounds between kills.
    expect(total('rounds')).toBeGreaterThan(60);
  }, 120_000);
});
