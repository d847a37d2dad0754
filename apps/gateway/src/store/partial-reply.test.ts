import { randomUUID } from 'node:crypto';
import { appendFile, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalStore } from './local-store.js';
import type { Scheduler } from './partial-reply.js';

let dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  dirs = [];
});

async function openStore(dir?: string) {
  const path = dir ?? (await mkdtemp(join(tmpdir(), 'gw-partial-')));
  if (!dir) dirs.push(path);
  const warnings: string[] = [];
  const store = await LocalStore.open(path, { warn: (message) => warnings.push(message) });
  return { dir: path, store, warnings };
}

/** A scheduler the test fires by hand: the injected clock of the batching. */
function manualScheduler() {
  const due: (() => void)[] = [];
  const schedule: Scheduler = (flush) => {
    due.push(flush);
    return () => {
      if (due.includes(flush)) due.splice(due.indexOf(flush), 1);
    };
  };
  const fire = () => {
    for (const flush of due.splice(0)) flush();
  };
  return { schedule, due, fire };
}

async function begin(
  store: LocalStore,
  sessionKey: string,
  options: Parameters<LocalStore['beginReply']>[1],
) {
  return store.beginReply(
    { runId: randomUUID(), sessionKey, messageId: randomUUID(), createdAt: new Date().toISOString() },
    options,
  );
}

const lines = async (path: string) => (await readFile(path, 'utf8')).split('\n').filter(Boolean);

describe('partial replies', () => {
  it('writes deltas in batches: one record per full batch or elapsed delay, not one per token', async () => {
    const { store } = await openStore();
    const { key } = await store.createSession('agent', 'batching');
    const clock = manualScheduler();
    const partial = await begin(store, key, {
      policy: { maxDelayMs: 200, maxDeltas: 4 },
      schedule: clock.schedule,
    });
    for (const delta of ['a', 'b', 'c']) partial.add(delta);
    await partial.settled();
    expect(await lines(partial.path)).toHaveLength(1); // only the start record: the batch is open
    expect(clock.due).toHaveLength(1); // one timer for the open batch, not one per delta
    clock.fire();
    await partial.settled();
    expect(await lines(partial.path)).toHaveLength(2);

    for (const delta of ['d', 'e', 'f', 'g']) partial.add(delta); // a full batch is written at once
    await partial.settled();
    expect(await lines(partial.path)).toHaveLength(3);
    expect(clock.due).toHaveLength(0);
    const texts = (await lines(partial.path)).slice(1).map((line) => JSON.parse(line.slice(9)).text);
    expect(texts).toEqual(['abc', 'defg']);
    await store.close();
  });

  it('turns a reply left by a killed process into an interrupted message on the next open', async () => {
    const { dir, store } = await openStore();
    const { key } = await store.createSession('agent', 'killed');
    await store.appendMessages(key, [
      { id: randomUUID(), role: 'user', content: 'hi', createdAt: new Date().toISOString() },
    ]);
    const partial = await begin(store, key, { policy: { maxDelayMs: 1000, maxDeltas: 2 } });
    for (const delta of ['Hel', 'lo', ' wor', 'ld', '!']) partial.add(delta);
    await partial.flush();
    await appendFile(partial.path, '0000abcd {"type":"text","te'); // a torn last write
    await store.close(); // no finishReply: as if killed

    const reopened = await openStore(dir);
    const { messages } = await reopened.store.history(key, {});
    expect(messages.map((message) => [message.role, message.content, message.status])).toEqual([
      ['user', 'hi', undefined],
      ['assistant', 'Hello world!', 'interrupted'],
    ]);
    expect(messages[1]).toMatchObject({ id: partial.start.messageId, runId: partial.start.runId });
    expect(reopened.warnings.join('\n')).toMatch(/cut off when the gateway stopped; kept 12 characters/);
    expect(await readdir(join(dir, 'partial'))).toEqual([]);
    await reopened.store.close();
  });

  it('does not store a finished reply twice when the process stopped before removing its partial file', async () => {
    const { dir, store } = await openStore();
    const { key } = await store.createSession('agent', 'finished');
    const partial = await begin(store, key, {});
    partial.add('done');
    await partial.flush();
    const copy = await readFile(partial.path);
    await store.finishReply(partial, {
      id: partial.start.messageId,
      role: 'assistant',
      content: 'done',
      createdAt: partial.start.createdAt,
      status: 'complete',
    });
    await expect(stat(partial.path)).rejects.toMatchObject({ code: 'ENOENT' });
    await appendFile(partial.path, copy); // the unlink "did not happen"
    await store.close();

    const reopened = await openStore(dir);
    const { messages } = await reopened.store.history(key, {});
    expect(messages.map((message) => message.status)).toEqual(['complete']);
    expect(await readdir(join(dir, 'partial'))).toEqual([]);
    await reopened.store.close();
  });

  it('opens a store written before partial replies existed', async () => {
    const { dir, store } = await openStore();
    const { key } = await store.createSession('agent', 'old');
    await store.close();
    await rm(join(dir, 'partial'), { recursive: true });
    const reopened = await openStore(dir);
    expect((await reopened.store.getSession(key)).messageCount).toBe(0);
    expect((await stat(join(dir, 'partial'))).mode & 0o777).toBe(0o700);
    await reopened.store.close();
  });
});
