import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StoredMessage } from '@multiclaw/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalStore } from './local-store.js';
import { encodeRecord } from './record-file.js';

const COUNT = 100_000;
const T0 = Date.parse('2025-01-01T00:00:00.000Z');
const createdAt = (seq: number) => new Date(T0 + seq * 1000).toISOString();
const contentOf = (seq: number) => `message ${seq} ${'lorem ipsum '.repeat(seq % 7)}`;

let dir: string;
/** The session's id: this store is written in the format before session keys, where it was the key. */
let key: string;
const sessionKey = () => `agent:bulk:${key}`;
const ids: string[] = [''];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gw-store-large-'));
  key = randomUUID();
  const started = performance.now();
  await mkdir(join(dir, 'messages'), { recursive: true, mode: 0o700 });
  await writeFile(
    join(dir, 'sessions.log'),
    encodeRecord({ key, agentId: 'bulk', title: 'big one', createdAt: createdAt(0) }),
    {
      mode: 0o600,
    },
  );
  const records: Buffer[] = [];
  for (let seq = 1; seq <= COUNT; seq++) {
    const id = randomUUID();
    ids.push(id);
    records.push(
      encodeRecord({
        id,
        sessionKey: key,
        seq,
        role: seq % 2 ? 'user' : 'assistant',
        content: contentOf(seq),
        createdAt: createdAt(seq),
      } satisfies StoredMessage),
    );
  }
  const file = Buffer.concat(records);
  await writeFile(join(dir, 'messages', `${key}.log`), file, { mode: 0o600 });
  console.log(
    `large: wrote ${COUNT} messages (${file.length} bytes) in ${Math.round(performance.now() - started)} ms`,
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function expectPage(messages: StoredMessage[], from: number, to: number): void {
  expect(messages.map((message) => message.seq)).toEqual(
    Array.from({ length: to - from + 1 }, (_, index) => from + index),
  );
  for (const message of messages) {
    expect(StoredMessage.parse(message)).toEqual({
      id: ids[message.seq],
      sessionKey: sessionKey(),
      seq: message.seq,
      role: message.seq % 2 ? 'user' : 'assistant',
      content: contentOf(message.seq),
      createdAt: createdAt(message.seq),
    });
  }
}

describe('a 100,000-message session', () => {
  it('opens and serves the newest, a middle and the first page, and lists sessions', async () => {
    const timings: Record<string, number> = {};
    const time = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
      const started = performance.now();
      const result = await work();
      timings[name] = Math.round((performance.now() - started) * 10) / 10;
      return result;
    };
    const warnings: string[] = [];
    const store = await time('open', () =>
      LocalStore.open(dir, { warn: (message) => warnings.push(message) }),
    );
    try {
      const newest = await time('newest page (opens the log)', () => store.history(key, {}));
      expectPage(newest.messages, COUNT - 99, COUNT);
      expect(newest.nextBefore).toBe(COUNT - 99);

      const middle = await time('middle page', () => store.history(key, { before: 50_001, limit: 100 }));
      expectPage(middle.messages, 49_901, 50_000);
      expect(middle.nextBefore).toBe(49_901);

      const first = await time('first page', () => store.history(key, { before: 101, limit: 100 }));
      expectPage(first.messages, 1, 100);
      expect(first.nextBefore).toBeUndefined();

      const big = await time('page of 1000', () => store.history(key, { before: 70_001, limit: 1000 }));
      expectPage(big.messages, 69_001, 70_000);

      const other = await store.createSession('bulk', 'small one', new Date(T0 + 1));
      const listed = await time('listSessions', () => store.listSessions({ agentId: 'bulk' }));
      expect(listed).toEqual({
        total: 2,
        sessions: [
          {
            key: other.key,
            agentId: 'bulk',
            title: 'small one',
            createdAt: other.createdAt,
            updatedAt: other.createdAt,
            messageCount: 0,
          },
          {
            key: sessionKey(),
            agentId: 'bulk',
            title: 'big one',
            createdAt: createdAt(0),
            updatedAt: createdAt(COUNT),
            messageCount: COUNT,
          },
        ],
      });

      const [appended] = await time('append', () =>
        store.appendMessages(key, [
          { id: randomUUID(), role: 'user', content: 'one more', createdAt: createdAt(COUNT + 1) },
        ]),
      );
      expect(appended?.seq).toBe(COUNT + 1);
      expect((await store.history(key, { limit: 2 })).messages.map((message) => message.seq)).toEqual([
        COUNT,
        COUNT + 1,
      ]);
      expect(warnings).toEqual([]);
    } finally {
      await store.close();
    }
    console.log(`large: ${JSON.stringify(timings)} (ms, for information only)`);
  });
});
