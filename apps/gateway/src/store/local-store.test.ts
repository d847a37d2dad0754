import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { appendFile, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ApiError, StoredMessage } from '@multiclaw/protocol';
import { describe, expect, it } from 'vitest';
import { spawnTs } from '../../test/crash/harness.js';
import { useTempStore } from '../../test/support/temp-store.js';
import { LocalStore, StoreLockedError } from './local-store.js';
import { type MessageDraft, StoreDamagedError } from './message-log.js';
import { encodeRecord, scanRecordFile } from './record-file.js';

const tmp = useTempStore('gw-store-');
const { open, reopen, warnings } = tmp;

const T0 = Date.parse('2025-01-01T00:00:00.000Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000);

function draft(seq: number): MessageDraft {
  return {
    id: randomUUID(),
    role: seq % 2 ? 'user' : 'assistant',
    content: `message ${seq}`,
    createdAt: at(seq).toISOString(),
  };
}

const drafts = (from: number, count: number) =>
  Array.from({ length: count }, (_, index) => draft(from + index));
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, index) => from + index);
const seqsOf = (messages: { seq: number }[]) => messages.map((message) => message.seq);
/** A conversation's messages file: named by the session's id, not its key. */
const logPath = (id: string) => join(tmp.dir, 'messages', `${id}.log`);

/** A store with one session holding `count` messages, closed again. */
async function sessionWith(count: number): Promise<{ key: string; id: string; size: number }> {
  const store = await open();
  const { key } = await store.createSession('agent', 'title', at(0));
  const id = store.sessionIdOf(key);
  if (count) await store.appendMessages(key, drafts(1, count));
  await tmp.close(await reopen(store));
  return { key, id, size: (await stat(logPath(id))).size };
}

/** Every message of the session, checked against what `draft` produced, in one page. */
async function expectMessages(store: LocalStore, key: string, count: number): Promise<StoredMessage[]> {
  const { messages, nextBefore } = await store.history(key, { limit: count + 10 });
  expect(nextBefore).toBeUndefined();
  expect(seqsOf(messages)).toEqual(range(1, count));
  for (const message of messages) {
    expect(StoredMessage.parse(message)).toEqual(message);
    expect(message).toMatchObject({ sessionKey: key, content: `message ${message.seq}` });
  }
  return messages;
}

describe('torn tails are cut off on open', () => {
  const next = (key: string) => encodeRecord(StoredMessage.parse({ ...draft(6), sessionKey: key, seq: 6 }));
  const cases: [string, (record: Buffer) => Buffer][] = [
    ['half a record', (record) => record.subarray(0, Math.floor(record.length / 2))],
    ['a record without its newline', (record) => record.subarray(0, record.length - 1)],
    [
      'a record with a flipped byte at its end',
      (record) => {
        const flipped = Buffer.from(record);
        flipped[flipped.length - 2] = (flipped[flipped.length - 2] as number) ^ 0x01;
        return flipped;
      },
    ],
    ['just a checksum', (record) => record.subarray(0, 9)],
  ];

  for (const [name, tear] of cases) {
    it(name, async () => {
      const { key, id, size } = await sessionWith(5);
      const tail = tear(next(key));
      await appendFile(logPath(id), tail);

      let store = await open();
      expect((await store.getSession(key)).messageCount).toBe(5);
      expect(warnings).toEqual([
        `store: dropped a torn message at the end of session ${key} (${tail.length} bytes)`,
      ]);
      expect((await stat(logPath(id))).size).toBe(size);
      await expectMessages(store, key, 5);

      const [appended] = await store.appendMessages(key, [draft(6)]);
      expect(appended?.seq).toBe(6);
      await expectMessages(store, key, 6);

      warnings.length = 0;
      store = await reopen(store);
      const messages = await expectMessages(store, key, 6);
      expect(messages[5]).toEqual(appended);
      expect(warnings).toEqual([]);
      const scan = await scanRecordFile(logPath(id));
      expect(scan.offsets).toHaveLength(6);
      expect(scan.validEnd).toBe(scan.fileSize);
    });
  }

  it('in sessions.log too', async () => {
    const { key } = await sessionWith(1);
    const torn = encodeRecord({
      key: randomUUID(),
      agentId: 'agent',
      title: 'torn',
      createdAt: at(1).toISOString(),
    });
    const size = (await stat(join(tmp.dir, 'sessions.log'))).size;
    await appendFile(join(tmp.dir, 'sessions.log'), torn.subarray(0, 30));
    let store = await open();
    expect(warnings).toEqual([
      expect.stringMatching(/^store: dropped a torn record at the end of .*sessions\.log \(30 bytes\)$/),
    ]);
    expect((await stat(join(tmp.dir, 'sessions.log'))).size).toBe(size);
    expect((await store.listSessions({})).sessions.map((session) => session.key)).toEqual([key]);
    const created = await store.createSession('agent', 'after', at(2));
    store = await reopen(store);
    expect((await store.listSessions({})).sessions.map((session) => session.key)).toEqual([created.key, key]);
  });
});

describe('damage in the middle of a message log', () => {
  for (const [name, where] of [
    ['in the JSON', 40],
    ['in the checksum', 3],
  ] as const) {
    it(`refuses that conversation with STORE_SESSION_DAMAGED and leaves the file alone (bit flipped ${name})`, async () => {
      const { key, id } = await sessionWith(6);
      const before = await readFile(logPath(id));
      const { offsets } = await scanRecordFile(logPath(id));
      const damaged = Buffer.from(before);
      const index = (offsets[2] as number) + where;
      damaged[index] = (damaged[index] as number) ^ 0x02;
      await writeFile(logPath(id), damaged);

      const store = await open();
      const error = await store.history(key, {}).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ApiError);
      expect(error).toMatchObject({ code: 'STORE_SESSION_DAMAGED' });
      expect((error as ApiError).message).toContain(logPath(id));
      // The log says exactly where: the StoreDamagedError's file and byte offset.
      expect(warnings).toContain(
        `store: conversation ${key} cannot be read: ${new StoreDamagedError(logPath(id), offsets[2] as number).message}`,
      );
      await expect(store.appendMessages(key, [draft(7)])).rejects.toMatchObject({
        code: 'STORE_SESSION_DAMAGED',
      });
      await expect(store.getSession(key)).rejects.toMatchObject({ code: 'STORE_SESSION_DAMAGED' });
      expect(await readFile(logPath(id))).toEqual(damaged);
    });
  }
});

describe('appends', () => {
  it('gives concurrent append calls distinct contiguous seqs, in call order', async () => {
    const store = await open();
    const { key } = await store.createSession('agent', 'busy', at(0));
    const other = await store.createSession('agent', 'other', at(0));
    const sizes = Array.from({ length: 30 }, (_, index) => 1 + (index % 3));
    const results = await Promise.all([
      ...sizes.map((size, index) => store.appendMessages(key, drafts(1000 * index, size))),
      store.appendMessages(other.key, drafts(1, 2)),
    ]);
    const otherResult = results.pop();
    expect(seqsOf(otherResult ?? [])).toEqual([1, 2]);
    let next = 1;
    for (const [index, messages] of results.entries()) {
      expect(seqsOf(messages)).toEqual(range(next, next + (sizes[index] as number) - 1));
      next += sizes[index] as number;
    }
    const total = next - 1;
    const all = results.flat();
    const { messages } = await store.history(key, { limit: 1000 });
    expect(messages).toEqual(all);
    expect((await store.getSession(key)).messageCount).toBe(total);

    const again = await reopen(store);
    expect((await again.history(key, { limit: 1000 })).messages).toEqual(all);
    const [appended] = await again.appendMessages(key, [draft(1)]);
    expect(appended?.seq).toBe(total + 1);
  });

  it('refuses an invalid draft without writing anything, and the next append still gets the next seq', async () => {
    const store = await open();
    const { key } = await store.createSession('agent', 'strict', at(0));
    await store.appendMessages(key, drafts(1, 2));
    const bad = { ...draft(3), id: 'not-a-uuid' };
    await expect(store.appendMessages(key, [draft(3), bad])).rejects.toThrow();
    const [message] = await store.appendMessages(key, [draft(3)]);
    expect(message?.seq).toBe(3);
    await expectMessages(await reopen(store), key, 3);
  });

  it('refuses unknown sessions', async () => {
    const store = await open();
    const key = randomUUID();
    await expect(store.appendMessages(key, [draft(1)])).rejects.toMatchObject({
      name: 'ApiError',
      code: 'NOT_FOUND',
    });
    await expect(store.history(key, {})).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(store.getSession(key)).rejects.toBeInstanceOf(ApiError);
    // Nothing was created for the unknown session.
    await expect(stat(logPath(key))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('history paging', () => {
  it('pages through 1,000 messages with before, limit and nextBefore', async () => {
    const store = await open();
    const { key } = await store.createSession('agent', 'long', at(0));
    const appended = [];
    for (let from = 1; from <= 1000; from += 100)
      appended.push(...(await store.appendMessages(key, drafts(from, 100))));
    expect(seqsOf(appended)).toEqual(range(1, 1000));

    const newest = await store.history(key, {});
    expect(seqsOf(newest.messages)).toEqual(range(901, 1000));
    expect(newest.nextBefore).toBe(901);
    expect(newest.messages).toEqual(appended.slice(900));

    const middle = await store.history(key, { before: 501, limit: 50 });
    expect(seqsOf(middle.messages)).toEqual(range(451, 500));
    expect(middle.nextBefore).toBe(451);

    for (const limit of [1, 37, 100, 999]) {
      const pages: number[][] = [];
      let before: number | undefined;
      for (;;) {
        const page = await store.history(key, { before, limit });
        const seqs = seqsOf(page.messages);
        expect(seqs).toEqual(range(seqs[0] as number, (seqs[0] as number) + seqs.length - 1));
        expect(seqs.length).toBe(Math.min(limit, (before ?? 1001) - 1));
        pages.push(seqs);
        if (page.nextBefore === undefined) break;
        expect(page.nextBefore).toBe(seqs[0]);
        before = page.nextBefore;
      }
      expect(pages.reverse().flat()).toEqual(range(1, 1000));
      expect(pages).toHaveLength(Math.ceil(1000 / limit));
    }

    const first = await store.history(key, { before: 101, limit: 100 });
    expect(first.messages).toEqual(appended.slice(0, 100));
    expect(first.nextBefore).toBeUndefined();
    expect(seqsOf((await store.history(key, { before: 3, limit: 10 })).messages)).toEqual([1, 2]);
    expect(await store.history(key, { before: 1 })).toEqual({ messages: [] });
    expect(seqsOf((await store.history(key, { before: 5000, limit: 3 })).messages)).toEqual([998, 999, 1000]);
    const everything = await store.history(key, { limit: 5000 });
    expect(everything).toEqual({ messages: appended });
    expect(await store.history((await store.createSession('agent', 'empty')).key, {})).toEqual({
      messages: [],
    });
  });
});

describe('listSessions', () => {
  it('lists newest first, filters by agent and pages with a cursor', async () => {
    let store = await open();
    const s1 = await store.createSession('alpha', 'one', at(1));
    const s2 = await store.createSession('beta', 'two', at(2));
    const s3 = await store.createSession('alpha', 'three', at(3));
    const s4 = await store.createSession('alpha', 'four', at(3));
    const s5 = await store.createSession('beta', 'five', at(5));
    const [tieFirst, tieSecond] = [s3, s4].sort((a, b) => b.key.localeCompare(a.key));
    const expected = [s5, tieFirst, tieSecond, s2, s1].map((session) => session?.key);
    await store.appendMessages(s1.key, [draft(1), { ...draft(2), createdAt: at(100).toISOString() }]);

    for (let round = 0; round < 2; round++) {
      const all = await store.listSessions({});
      expect(all.nextCursor).toBeUndefined();
      expect(all.total).toBe(5);
      expect(all.sessions.map((session) => session.key)).toEqual(expected);
      expect(all.sessions.find((session) => session.key === s1.key)).toEqual({
        key: s1.key,
        agentId: 'alpha',
        title: 'one',
        createdAt: at(1).toISOString(),
        updatedAt: at(100).toISOString(),
        messageCount: 2,
      });
      expect(all.sessions.find((session) => session.key === s2.key)).toMatchObject({
        updatedAt: at(2).toISOString(),
        messageCount: 0,
      });

      const alpha = await store.listSessions({ agentId: 'alpha' });
      expect(alpha.total).toBe(3);
      expect(alpha.sessions.map((session) => session.key)).toEqual(
        expected.filter((key) => key !== s2.key && key !== s5.key),
      );
      expect((await store.listSessions({ agentId: 'gamma' })).sessions).toEqual([]);

      const page1 = await store.listSessions({ limit: 2 });
      expect(page1.total).toBe(5);
      expect(page1.sessions.map((session) => session.key)).toEqual(expected.slice(0, 2));
      expect(page1.nextCursor).toBe(expected[1]);
      const page2 = await store.listSessions({ limit: 2, cursor: page1.nextCursor });
      expect(page2.sessions.map((session) => session.key)).toEqual(expected.slice(2, 4));
      const page3 = await store.listSessions({ limit: 2, cursor: page2.nextCursor });
      expect(page3.sessions.map((session) => session.key)).toEqual(expected.slice(4));
      expect(page3.nextCursor).toBeUndefined();
      const exact = await store.listSessions({ limit: 5 });
      expect(exact.nextCursor).toBeUndefined();

      const alphaPage1 = await store.listSessions({ agentId: 'alpha', limit: 2 });
      const alphaPage2 = await store.listSessions({
        agentId: 'alpha',
        limit: 2,
        cursor: alphaPage1.nextCursor,
      });
      expect([...alphaPage1.sessions, ...alphaPage2.sessions].map((session) => session.key)).toEqual(
        alpha.sessions.map((session) => session.key),
      );
      expect(alphaPage2.nextCursor).toBeUndefined();

      const error = await store.listSessions({ cursor: randomUUID() }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ApiError);
      expect((error as ApiError).code).toBe('VALIDATION_FAILED');

      store = await reopen(store);
    }
  });
});

describe('store lock', () => {
  it('refuses a second open from another live process, and takes over once it is dead', async () => {
    const holder = spawnTs('store-holder.ts', [tmp.dir]);
    try {
      await holder.waitForLine((line) => line === 'ready');
      const error = await LocalStore.open(tmp.dir, { warn: () => {} }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(StoreLockedError);
      expect((error as StoreLockedError).pid).toBe(holder.pid);
      expect(JSON.parse(await readFile(join(tmp.dir, 'store.lock'), 'utf8')).pid).toBe(holder.pid);
    } finally {
      await holder.kill();
    }
    const store = await open();
    expect(JSON.parse(await readFile(join(tmp.dir, 'store.lock'), 'utf8')).pid).toBe(process.pid);
    await tmp.close(store);
    await expect(stat(join(tmp.dir, 'store.lock'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('is not blocked by a stale lock whose pid now belongs to an unrelated process, in either lock format', async (ctx) => {
    if (process.platform !== 'linux') return ctx.skip();
    const unrelated = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      const lockPath = join(tmp.dir, 'store.lock');
      // This version's format: the recorded start time is not that process's.
      await writeFile(lockPath, JSON.stringify({ pid: unrelated.pid, instance: 'gone', startTime: '1' }));
      await (await LocalStore.open(tmp.dir, { warn: () => {} })).close();
      // An earlier version's bare pid, written before that process started.
      await writeFile(lockPath, String(unrelated.pid));
      const longAgo = new Date(Date.now() - 3_600_000);
      await utimes(lockPath, longAgo, longAgo);
      const store = await LocalStore.open(tmp.dir, { warn: () => {} });
      expect(JSON.parse(await readFile(lockPath, 'utf8')).pid).toBe(process.pid);
      await store.close();
    } finally {
      unrelated.kill('SIGKILL');
    }
  });

  it('refuses a second open of the same directory from this process until the first is closed', async () => {
    const first = await open();
    await expect(LocalStore.open(tmp.dir, { warn: () => {} })).rejects.toBeInstanceOf(StoreLockedError);
    await tmp.close(first);
    const second = await open();
    expect(second.dir).toBe(tmp.dir);
  });
});

describe('damage in sessions.log', () => {
  it('refuses to open rather than silently dropping the sessions after a damaged record', async () => {
    const store = await open();
    const a = await store.createSession('agent', 'first', at(1));
    await store.createSession('agent', 'second', at(2));
    await tmp.close(store);
    const path = join(tmp.dir, 'sessions.log');
    const bytes = await readFile(path);
    const target = bytes.indexOf(Buffer.from(a.key)) + 3;
    bytes[target] = (bytes[target] as number) ^ 0x01;
    await writeFile(path, bytes);
    await expect(LocalStore.open(tmp.dir, { warn: () => {} })).rejects.toBeInstanceOf(StoreDamagedError);
    expect(await readFile(path)).toEqual(bytes);
    // The refused open released its lock: the same error again, not StoreLockedError.
    await expect(LocalStore.open(tmp.dir, { warn: () => {} })).rejects.toBeInstanceOf(StoreDamagedError);
  });
});
