import { randomUUID } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ApiError, StoredMessage } from '@multiclaw/protocol';
import { describe, expect, it } from 'vitest';
import { useTempStore } from '../../test/support/temp-store.js';
import type { MessageDraft } from './message-log.js';
import { encodeRecord, scanRecordFile } from './record-file.js';

/** Session keys (OpenClaw's `agent:<agentId>:<name>`) over session ids: old stores, create, reset, delete, search. */

const tmp = useTempStore('gw-store-keys-');
const { open, reopen, warnings } = tmp;

const T0 = Date.parse('2025-01-01T00:00:00.000Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const say = (content: string, seconds = 1): MessageDraft => ({
  id: randomUUID(),
  role: 'user',
  content,
  createdAt: at(seconds).toISOString(),
});
const contents = (messages: { content: string }[]) => messages.map((message) => message.content);
const keysOf = (page: { sessions: { key: string }[] }) => page.sessions.map((session) => session.key);
const messagesFile = (id: string) => join(tmp.dir, 'messages', `${id}.log`);
const sessionsLog = () => join(tmp.dir, 'sessions.log');

async function refusal(work: Promise<unknown>): Promise<ApiError> {
  const error = await work.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ApiError);
  return error as ApiError;
}

/**
 * A store as the gateway wrote it before session keys (commit c3c745e): each
 * `sessions.log` record `{key: <uuid>, agentId, title, createdAt}`, each
 * message a StoredMessage (in the schema's field order) whose `sessionKey` is
 * that uuid, a partial reply whose start record names the session by its uuid.
 * Written with the record format the store has always used (encodeRecord).
 */
async function writePreKeyStore() {
  const talk = { id: randomUUID(), agentId: 'alpha', title: 'Old talk', createdAt: at(1).toISOString() };
  const quiet = { id: randomUUID(), agentId: 'beta', title: 'Quiet one', createdAt: at(2).toISOString() };
  await mkdir(join(tmp.dir, 'messages'), { recursive: true });
  await mkdir(join(tmp.dir, 'partial'), { recursive: true });
  await writeFile(
    sessionsLog(),
    Buffer.concat(
      [talk, quiet].map(({ id, agentId, title, createdAt }) =>
        encodeRecord({ key: id, agentId, title, createdAt }),
      ),
    ),
  );
  const runId = randomUUID();
  const old = [
    {
      id: randomUUID(),
      sessionKey: talk.id,
      seq: 1,
      role: 'user',
      content: 'hello',
      createdAt: at(3).toISOString(),
    },
    {
      id: randomUUID(),
      sessionKey: talk.id,
      seq: 2,
      role: 'assistant',
      content: 'hi there',
      createdAt: at(4).toISOString(),
      runId: randomUUID(),
      status: 'complete',
    },
    {
      id: randomUUID(),
      sessionKey: talk.id,
      seq: 3,
      role: 'user',
      content: 'and then?',
      createdAt: at(5).toISOString(),
      runId,
    },
  ];
  await writeFile(messagesFile(talk.id), Buffer.concat(old.map((record) => encodeRecord(record))));
  const messageId = randomUUID();
  await writeFile(
    join(tmp.dir, 'partial', `${runId}.log`),
    Buffer.concat([
      encodeRecord({ type: 'start', runId, sessionKey: talk.id, messageId, createdAt: at(6).toISOString() }),
      encodeRecord({ type: 'text', text: 'then it ' }),
      encodeRecord({ type: 'text', text: 'stopped' }),
    ]),
  );
  return { talk, quiet, runId, messageId, sessionsBytes: await readFile(sessionsLog()) };
}

describe('a store written before session keys', () => {
  it('opens without losing anything: keys agent:<agentId>:<old id>, the old id still finds each session, the interrupted reply is recovered', async () => {
    const { talk, quiet, runId, messageId, sessionsBytes } = await writePreKeyStore();
    const talkKey = `agent:alpha:${talk.id}`;
    const quietKey = `agent:beta:${quiet.id}`;
    let store = await open();

    expect(await store.listSessions({})).toEqual({
      total: 2,
      sessions: [
        {
          key: quietKey,
          agentId: 'beta',
          title: 'Quiet one',
          createdAt: quiet.createdAt,
          updatedAt: quiet.createdAt,
          messageCount: 0,
        },
        {
          key: talkKey,
          agentId: 'alpha',
          title: 'Old talk',
          createdAt: talk.createdAt,
          updatedAt: at(6).toISOString(),
          messageCount: 4,
        },
      ],
    });
    expect(await store.getSession(talk.id)).toEqual(await store.getSession(talkKey));
    expect(await store.findSession(talk.id)).toEqual(await store.getSession(talkKey));
    expect(store.sessionIdOf(talkKey)).toBe(talk.id);
    expect(store.sessionIdOf(talk.id)).toBe(talk.id);

    for (const ref of [talkKey, talk.id]) {
      const { messages } = await store.history(ref, {});
      expect(contents(messages)).toEqual(['hello', 'hi there', 'and then?', 'then it stopped']);
      for (const message of messages) {
        expect(message.sessionKey).toBe(talkKey);
        expect(StoredMessage.parse(message)).toEqual(message);
      }
      expect(messages[3]).toMatchObject({ id: messageId, runId, role: 'assistant', status: 'interrupted' });
    }
    expect(warnings).toEqual([
      `store: a reply in session ${talkKey} was cut off when the gateway stopped; kept 15 characters, marked interrupted`,
    ]);
    expect(await readdir(join(tmp.dir, 'partial'))).toEqual([]);
    // A client's cursor from before (an old id) still pages.
    expect(keysOf(await store.listSessions({ cursor: quiet.id }))).toEqual([talkKey]);

    // Nothing was rewritten: sessions.log is byte for byte the old one.
    expect(await readFile(sessionsLog())).toEqual(sessionsBytes);

    const [added] = await store.appendMessages(talk.id, [say('new turn', 7)]);
    expect(added).toMatchObject({ seq: 5, sessionKey: talkKey });
    store = await reopen(store);
    expect(contents((await store.history(talkKey, { limit: 2 })).messages)).toEqual([
      'then it stopped',
      'new turn',
    ]);
    expect((await store.getSession(quiet.id)).key).toBe(quietKey);
  });

  it('resets an old session: its key goes to an empty one, the old transcript stays under its id', async () => {
    const { talk } = await writePreKeyStore();
    const talkKey = `agent:alpha:${talk.id}`;
    let store = await open();
    const fresh = await store.resetSession(talk.id, at(10));
    expect(fresh).toMatchObject({ key: talkKey, messageCount: 0, createdAt: at(10).toISOString() });
    expect(store.sessionIdOf(talkKey)).not.toBe(talk.id);
    // Its own alias is the key that moved on, so the old conversation gets the next free one.
    const moved = await store.getSession(talk.id);
    expect(moved.key).toBe(`${talkKey}:2`);
    expect(moved.messageCount).toBe(4);
    store = await reopen(store);
    expect((await store.getSession(talkKey)).messageCount).toBe(0);
    expect((await store.history(talk.id, {})).messages.map((message) => message.sessionKey)).toEqual(
      Array(4).fill(`${talkKey}:2`),
    );
  });
});

describe('createSession', () => {
  it('names a session agent:<agentId>:<id> by default, or takes the key it is given', async () => {
    let store = await open();
    const plain = await store.createSession('alpha', 'plain', at(1));
    const plainId = store.sessionIdOf(plain.key);
    expect(plainId).toMatch(UUID);
    expect(plain.key).toBe(`agent:alpha:${plainId}`);

    const main = await store.createSession('alpha', 'main one', at(2), 'agent:alpha:main');
    expect(main).toEqual({
      key: 'agent:alpha:main',
      agentId: 'alpha',
      title: 'main one',
      createdAt: at(2).toISOString(),
      updatedAt: at(2).toISOString(),
      messageCount: 0,
    });
    const mainId = store.sessionIdOf('agent:alpha:main');
    expect(mainId).toMatch(UUID);
    await store.appendMessages('agent:alpha:main', [say('hi')]);
    // The messages file is named by the id, never by the key.
    expect(await readdir(join(tmp.dir, 'messages'))).toEqual([`${mainId}.log`]);

    store = await reopen(store);
    expect(await store.getSession(mainId)).toMatchObject({ key: 'agent:alpha:main', messageCount: 1 });
    expect(await store.findSession('agent:alpha:nothing')).toBeUndefined();
    expect(await store.findSession(randomUUID())).toBeUndefined();
  });

  it('refuses a taken key, a key of another agent and a malformed key, writing nothing', async () => {
    const store = await open();
    await store.createSession('alpha', 'first', at(1), 'agent:alpha:main');
    const size = (await stat(sessionsLog())).size;

    const taken = await refusal(store.createSession('alpha', 'second', at(2), 'agent:alpha:main'));
    expect(taken.code).toBe('VALIDATION_FAILED');
    expect(taken.message).toBe('A session with the key "agent:alpha:main" already exists');
    const foreign = await refusal(store.createSession('alpha', 'x', at(2), 'agent:beta:main'));
    expect(foreign).toMatchObject({ code: 'VALIDATION_FAILED', details: { issues: [{ path: 'key' }] } });
    expect(foreign.message).toContain('belongs to agent "beta"');
    for (const bad of ['main', 'agent:alpha:', 'agent:alpha:two words', `agent:Alpha:x`])
      expect((await refusal(store.createSession('alpha', 'x', at(2), bad))).code).toBe('VALIDATION_FAILED');
    const badAgent = await refusal(store.createSession('Not An Id', 'x', at(2)));
    expect(badAgent.details?.issues?.[0]?.path).toBe('agentId');

    expect((await stat(sessionsLog())).size).toBe(size);
    expect((await store.listSessions({})).total).toBe(1);
  });

  it('lets exactly one of two concurrent creates with the same key win', async () => {
    const store = await open();
    const results = await Promise.allSettled([
      store.createSession('alpha', 'one', at(1), 'agent:alpha:race'),
      store.createSession('alpha', 'two', at(1), 'agent:alpha:race'),
    ]);
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected']);
    expect((await store.listSessions({})).sessions).toMatchObject([
      { key: 'agent:alpha:race', title: 'one' },
    ]);
  });
});

describe('resetSession', () => {
  it('moves the key to a new empty session and keeps the previous conversation whole under agent:<agentId>:<its id>', async () => {
    let store = await open();
    await store.createSession('alpha', 'Daily', at(1), 'agent:alpha:main');
    const oldId = store.sessionIdOf('agent:alpha:main');
    await store.appendMessages('agent:alpha:main', [say('one'), say('two')]);
    const recordsBefore = (await scanRecordFile(sessionsLog())).offsets.length;

    const fresh = await store.resetSession('agent:alpha:main', at(20));
    expect(fresh).toEqual({
      key: 'agent:alpha:main',
      agentId: 'alpha',
      title: 'Daily',
      createdAt: at(20).toISOString(),
      updatedAt: at(20).toISOString(),
      messageCount: 0,
    });
    const newId = store.sessionIdOf('agent:alpha:main');
    expect(newId).not.toBe(oldId);
    const alias = `agent:alpha:${oldId}`;

    // Two records, the re-key first: a torn second one cannot leave two sessions with one key.
    const records = (await readFile(sessionsLog(), 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line.slice(9)));
    expect(records).toHaveLength(recordsBefore + 2);
    expect(records.slice(-2)).toEqual([
      { id: oldId, key: alias, agentId: 'alpha', title: 'Daily', createdAt: at(1).toISOString() },
      {
        id: newId,
        key: 'agent:alpha:main',
        agentId: 'alpha',
        title: 'Daily',
        createdAt: at(20).toISOString(),
      },
    ]);

    for (let round = 0; round < 2; round++) {
      expect((await store.history('agent:alpha:main', {})).messages).toEqual([]);
      for (const ref of [alias, oldId]) {
        const { messages } = await store.history(ref, {});
        expect(contents(messages)).toEqual(['one', 'two']);
        expect(messages.every((message) => message.sessionKey === alias)).toBe(true);
      }
      const listed = await store.listSessions({ agentId: 'alpha' });
      expect(listed.total).toBe(2);
      expect(keysOf(listed)).toEqual(['agent:alpha:main', alias]);
      store = await reopen(store);
    }
  });

  it('writes later messages of the previous conversation under its new key, though its log was already open', async () => {
    const store = await open();
    await store.createSession('alpha', 'Daily', at(1), 'agent:alpha:main');
    const oldId = store.sessionIdOf('agent:alpha:main');
    await store.appendMessages('agent:alpha:main', [say('before')]); // opens and caches the log
    await store.resetSession('agent:alpha:main', at(2));
    const [late] = await store.appendMessages(oldId, [say('late')]);
    expect(late?.sessionKey).toBe(`agent:alpha:${oldId}`);
    const [fresh] = await store.appendMessages('agent:alpha:main', [say('fresh')]);
    expect(fresh).toMatchObject({ seq: 1, sessionKey: 'agent:alpha:main' });
    // On disk too: the record holds the key it was written under.
    const lines = (await readFile(messagesFile(oldId), 'utf8')).split('\n').filter(Boolean);
    expect(JSON.parse((lines[1] as string).slice(9)).sessionKey).toBe(`agent:alpha:${oldId}`);
  });

  it('is NOT_FOUND for an unknown session', async () => {
    const store = await open();
    expect((await refusal(store.resetSession('agent:alpha:main'))).code).toBe('NOT_FOUND');
  });
});

describe('deleteSession', () => {
  it('removes the session and its messages; the key can be created again; the tombstone survives reopening', async () => {
    let store = await open();
    await store.createSession('alpha', 'Doomed', at(1), 'agent:alpha:main');
    const keep = await store.createSession('alpha', 'Keeper', at(2));
    const doomedId = store.sessionIdOf('agent:alpha:main');
    await store.appendMessages('agent:alpha:main', [say('secret')]);

    expect(await store.deleteSession(doomedId)).toEqual({ key: 'agent:alpha:main', deleted: true });
    await expect(stat(messagesFile(doomedId))).rejects.toMatchObject({ code: 'ENOENT' });
    for (const ref of ['agent:alpha:main', doomedId]) {
      expect((await refusal(store.getSession(ref))).code).toBe('NOT_FOUND');
      expect((await refusal(store.history(ref, {}))).code).toBe('NOT_FOUND');
      expect((await refusal(store.appendMessages(ref, [say('x')]))).code).toBe('NOT_FOUND');
      expect(await store.findSession(ref)).toBeUndefined();
    }
    expect((await refusal(store.deleteSession('agent:alpha:main'))).code).toBe('NOT_FOUND');

    store = await reopen(store);
    expect(await store.findSession(doomedId)).toBeUndefined();
    expect(keysOf(await store.listSessions({}))).toEqual([keep.key]);
    const again = await store.createSession('alpha', 'Reborn', at(3), 'agent:alpha:main');
    expect(again.messageCount).toBe(0);
    expect((await store.history('agent:alpha:main', {})).messages).toEqual([]);

    store = await reopen(store);
    expect(await store.getSession('agent:alpha:main')).toMatchObject({ title: 'Reborn', messageCount: 0 });
    expect(store.sessionIdOf('agent:alpha:main')).not.toBe(doomedId);
    expect((await store.listSessions({})).total).toBe(2);
  });

  it('removes on the next open a messages file left by a process stopped between the tombstone and the unlink', async () => {
    let store = await open();
    const { key } = await store.createSession('alpha', 'Doomed', at(1));
    const id = store.sessionIdOf(key);
    await store.appendMessages(key, [say('secret')]);
    await copyFile(messagesFile(id), join(tmp.dir, 'copy'));
    await store.deleteSession(key);
    await copyFile(join(tmp.dir, 'copy'), messagesFile(id)); // the unlink "did not happen"
    store = await reopen(store);
    await expect(stat(messagesFile(id))).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await store.listSessions({})).total).toBe(0);
  });

  it('lets appends queued before the delete finish, refuses later ones, and leaves no messages file behind', async () => {
    const store = await open();
    const { key } = await store.createSession('alpha', 'Busy', at(1));
    const id = store.sessionIdOf(key);
    await store.history(key, {}); // the log is open: appends queue on it, one fsync each
    const queued = Array.from({ length: 20 }, (_, index) => store.appendMessages(key, [say(`m${index}`)]));
    const deleted = store.deleteSession(key);
    const results = await Promise.allSettled([...queued, deleted]);
    // Each queued append was accepted, so each must end as stored (in a file then removed), not as a raw I/O error.
    expect(results.filter((result) => result.status === 'rejected')).toEqual([]);
    await expect(store.appendMessages(key, [say('late')])).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(stat(messagesFile(id))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('deletes a damaged conversation', async () => {
    let store = await open();
    const { key } = await store.createSession('alpha', 'Broken', at(1));
    const id = store.sessionIdOf(key);
    await store.appendMessages(key, [say('one'), say('two')]);
    store = await reopen(store);
    const bytes = await readFile(messagesFile(id));
    bytes[20] = (bytes[20] as number) ^ 0x01;
    await writeFile(messagesFile(id), bytes);
    expect(await store.findSession(key)).toMatchObject({ key, damaged: true });
    expect(await store.deleteSession(key)).toEqual({ key, deleted: true });
    await expect(stat(messagesFile(id))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('listSessions: search, offset, total', () => {
  it('matches title or key case-insensitively, counts what matches, and skips with offset', async () => {
    let store = await open();
    const plan = await store.createSession('alpha', 'Travel PLAN', at(1));
    const beta = await store.createSession('beta', 'Groceries', at(2), 'agent:beta:shopping');
    const plans = await store.createSession('beta', 'planning ahead', at(3));
    await store.createSession('alpha', 'Misc', at(4));

    for (let round = 0; round < 2; round++) {
      expect(await store.listSessions({ search: 'plan' })).toMatchObject({ total: 2 });
      expect(keysOf(await store.listSessions({ search: 'plan' }))).toEqual([plans.key, plan.key]);
      expect(keysOf(await store.listSessions({ search: 'SHOP' }))).toEqual([beta.key]);
      expect(keysOf(await store.listSessions({ search: 'agent:beta:' }))).toEqual([plans.key, beta.key]);
      expect(await store.listSessions({ search: 'plan', agentId: 'alpha' })).toMatchObject({
        total: 1,
        sessions: [{ key: plan.key }],
      });
      expect(await store.listSessions({ search: 'nothing like it' })).toEqual({ sessions: [], total: 0 });

      const everything = keysOf(await store.listSessions({}));
      expect(everything).toHaveLength(4);
      const skipped = await store.listSessions({ offset: 1, limit: 2 });
      expect(keysOf(skipped)).toEqual(everything.slice(1, 3));
      expect(skipped.total).toBe(4);
      expect(skipped.nextCursor).toBe(everything[2]);
      expect(keysOf(await store.listSessions({ offset: 3 }))).toEqual(everything.slice(3));
      expect(await store.listSessions({ offset: 10 })).toEqual({ sessions: [], total: 4 });
      // With a cursor, offset counts from the session after it.
      expect(keysOf(await store.listSessions({ cursor: everything[0], offset: 1 }))).toEqual(
        everything.slice(2),
      );
      store = await reopen(store);
    }
  });
});

describe('partial replies and session ids', () => {
  it('records the session id, so a finished reply lands in its own conversation even after the key moved', async () => {
    const store = await open();
    await store.createSession('alpha', 'Daily', at(1), 'agent:alpha:main');
    const id = store.sessionIdOf('agent:alpha:main');
    const partial = await store.beginReply({
      runId: randomUUID(),
      sessionKey: 'agent:alpha:main',
      messageId: randomUUID(),
      createdAt: at(2).toISOString(),
    });
    expect(partial.start).toMatchObject({ sessionKey: 'agent:alpha:main', sessionId: id });
    await store.resetSession('agent:alpha:main', at(3));
    await store.finishReply(partial, {
      id: partial.start.messageId,
      role: 'assistant',
      content: 'done',
      createdAt: at(4).toISOString(),
      status: 'complete',
    });
    expect((await store.history(id, {})).messages).toMatchObject([
      { content: 'done', sessionKey: `agent:alpha:${id}` },
    ]);
    expect((await store.getSession('agent:alpha:main')).messageCount).toBe(0);
  });

  it('drops a partial reply of a deleted session on open', async () => {
    const store = await open();
    await store.createSession('alpha', 'Daily', at(1), 'agent:alpha:main');
    const partial = await store.beginReply({
      runId: randomUUID(),
      sessionKey: 'agent:alpha:main',
      messageId: randomUUID(),
      createdAt: at(2).toISOString(),
    });
    partial.add('text');
    await partial.flush();
    await store.deleteSession('agent:alpha:main');
    await store.createSession('alpha', 'New', at(3), 'agent:alpha:main');
    const again = await reopen(store); // as if killed mid-reply: the partial file is still there
    expect(warnings).toContain(`store: dropped a partial reply of an unknown session (${partial.path})`);
    expect((await again.getSession('agent:alpha:main')).messageCount).toBe(0);
  });
});

describe('a sessions.log that gives one key to two conversations (hand-edited)', () => {
  it('gives the key to the later one and the earlier its alias, and says so', async () => {
    const first = {
      id: randomUUID(),
      key: 'agent:alpha:main',
      agentId: 'alpha',
      title: 'A',
      createdAt: at(1).toISOString(),
    };
    const second = { ...first, id: randomUUID(), title: 'B', createdAt: at(2).toISOString() };
    await writeFile(sessionsLog(), Buffer.concat([encodeRecord(first), encodeRecord(second)]));
    const store = await open();
    expect(await store.getSession('agent:alpha:main')).toMatchObject({ title: 'B' });
    expect(await store.getSession(first.id)).toMatchObject({ title: 'A', key: `agent:alpha:${first.id}` });
    expect(warnings).toEqual([
      `store: sessions.log gives the key agent:alpha:main to two conversations; the earlier is now agent:alpha:${first.id}`,
    ]);
  });
});
