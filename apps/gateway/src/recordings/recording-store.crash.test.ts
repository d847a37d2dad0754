import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { delay, spawnTs } from '../../test/crash/harness.js';
import { RecordingStore } from './recording-store.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'gw-recordings-crash-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('recordings store under kill -9', () => {
  it('keeps every acknowledged step, in order, with nothing torn, across many kills at random points', async () => {
    const dir = await mkdtemp(join(root, 'store-'));
    const recordingId = randomUUID();
    const pairingId = randomUUID();
    let acknowledged = 0;
    let tornTails = 0;
    const kills = 12;
    for (let round = 0; round < kills; round++) {
      const child = spawnTs('recording-appender.ts', [dir, recordingId, pairingId]);
      try {
        await child.waitForLine((line) => line === 'ready');
        await delay(20 + Math.random() * 200);
      } finally {
        await child.kill();
      }
      const printed = child.lines.filter((line) => /^\d+$/.test(line)).map(Number);
      acknowledged = Math.max(acknowledged, printed.at(-1) ?? 0);
      if (/torn record/.test(child.stderr())) tornTails += 1;

      const warnings: string[] = [];
      const store = await RecordingStore.open(dir, { warn: (message) => warnings.push(message) });
      if (warnings.some((warning) => /torn record/.test(warning))) tornTails += 1;
      // Killed before its first batch was acknowledged: the recording may not exist yet.
      const exists = store.list().some((recording) => recording.id === recordingId);
      const stored = exists ? (await store.get(recordingId)).steps.map((step) => step.seq) : [];
      await store.close();
      // Everything acknowledged is there; at most the one append the kill interrupted after its fsync is extra.
      expect(stored.length).toBeGreaterThanOrEqual(acknowledged);
      expect(stored.length).toBeLessThanOrEqual(acknowledged + 1);
      expect(stored).toEqual(Array.from({ length: stored.length }, (_, index) => index + 1));
      acknowledged = stored.length;
    }
    // Not hollow: the kills landed while the child was appending.
    expect(acknowledged).toBeGreaterThan(kills);
    console.info(
      `recordings crash test: ${kills} kills, ${acknowledged} steps, ${tornTails} torn tails cut off`,
    );
  });
});
