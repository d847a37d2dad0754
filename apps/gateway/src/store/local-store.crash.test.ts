import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StoredMessage } from '@multiclaw/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allLanes, delay, spawnTs } from '../../test/crash/harness.js';
import { contentFor } from '../../test/crash/messages.js';
import { LocalStore } from './local-store.js';
import { scanRecordFile } from './record-file.js';

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'gw-store-crash-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

interface LaneResult {
  kills: number;
  messages: number;
  /** Kills after which the log held one completed append whose seq had not been printed yet. */
  unprinted: number;
  /** Kills that left a torn record, cut off on reopen. */
  tornTails: number;
}

/** Checks messages fromSeq..toSeq of the session: contiguous, valid, each exactly what the child wrote. */
async function expectIntact(store: LocalStore, key: string, fromSeq: number, toSeq: number): Promise<void> {
  if (toSeq < fromSeq) return;
  const { messages } = await store.history(key, { before: toSeq + 1, limit: toSeq - fromSeq + 1 });
  expect(messages.map((message) => message.seq)).toEqual(
    Array.from({ length: toSeq - fromSeq + 1 }, (_, index) => fromSeq + index),
  );
  for (const message of messages) {
    expect(StoredMessage.parse(message)).toEqual(message);
    expect(message.sessionKey).toBe(key);
    expect(message.content).toBe(contentFor(message.seq));
  }
}

async function lane(iterations: number, maxDelayMs: number): Promise<LaneResult> {
  const dir = await mkdtemp(join(root, 'store-'));
  const setup = await LocalStore.open(dir, { warn: () => {} });
  const { key } = await setup.createSession('agent', 'crash test');
  const id = setup.sessionIdOf(key);
  await setup.close();
  const result: LaneResult = { kills: 0, messages: 0, unprinted: 0, tornTails: 0 };
  let count = 0;

  for (let iteration = 0; iteration < iterations; iteration++) {
    const child = spawnTs('store-appender.ts', [dir, key]);
    try {
      await child.waitForLine((line) => line === 'ready');
      await delay(Math.random() * maxDelayMs);
    } finally {
      await child.kill();
    }
    // Killed by us while appending, not dead of something else.
    expect(await child.exited, child.stderr()).toEqual({ code: null, signal: 'SIGKILL' });
    result.kills++;

    // The seqs it printed: each one only after its append resolved, contiguous from where it started.
    const printed = child.lines.slice(child.lines.indexOf('ready') + 1).map(Number);
    expect(printed).toEqual(Array.from({ length: printed.length }, (_, index) => count + 1 + index));
    const lastPrinted = printed.at(-1) ?? count;

    // Reopen in the parent: takes over the dead child's lock, cuts any torn tail.
    const warnings: string[] = [];
    const store = await LocalStore.open(dir, { warn: (message) => warnings.push(message) });
    try {
      const { messageCount } = await store.getSession(key);
      expect(messageCount).toBeGreaterThanOrEqual(lastPrinted);
      expect(messageCount).toBeLessThanOrEqual(lastPrinted + 1);
      if (messageCount > lastPrinted) result.unprinted++;
      if (warnings.length) result.tornTails++;
      for (const warning of warnings)
        expect(warning).toMatch(/^store: dropped a torn message at the end of session /);
      await expectIntact(store, key, Math.max(1, count - 1), messageCount);
      // Nothing torn is left in the file.
      const scan = await scanRecordFile(join(dir, 'messages', `${id}.log`));
      expect(scan.offsets).toHaveLength(messageCount);
      expect(scan.validEnd).toBe(scan.fileSize);
      count = messageCount;
    } finally {
      await store.close();
    }
  }

  const store = await LocalStore.open(dir, { warn: () => {} });
  try {
    await expectIntact(store, key, 1, count);
  } finally {
    await store.close();
  }
  result.messages = count;
  return result;
}

describe('local store under SIGKILL', () => {
  it('keeps every printed append, at most one more, and nothing torn, after every kill', async () => {
    const started = performance.now();
    const lanes = await allLanes([lane(17, 50), lane(17, 50), lane(17, 50)]);
    const total = (field: keyof LaneResult) => lanes.reduce((sum, result) => sum + result[field], 0);
    console.log(
      `store: ${total('kills')} kills in ${Math.round(performance.now() - started)} ms, ${total('messages')} messages kept, ` +
        `${total('unprinted')} kills left a completed-but-unprinted append, ${total('tornTails')} left a torn tail`,
    );
    expect(total('kills')).toBe(51);
    // Not hollow: the children really appended a good number of messages between kills.
    expect(total('messages')).toBeGreaterThan(60);
  }, 300_000); // ~10 s on an idle machine; 51 spawned children, once over 90 s under a load average of 13.
});
