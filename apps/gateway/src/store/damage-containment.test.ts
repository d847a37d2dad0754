import { randomUUID } from 'node:crypto';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, home } from '../../test/support/cli.js';
import { startTestGateway } from '../../test/support/gateway.js';
import { connectControlClient } from '../../test/support/ws-client.js';
import { findDamagedStoreFiles } from './damage-scan.js';
import { LocalStore } from './local-store.js';
import { encodeRecord } from './record-file.js';

/**
 * Issue 11: one damaged conversation file made `sessions.list` fail entirely
 * ("The run failed unexpectedly"); a damaged sessions.log made `start` exit 70
 * with a stack trace and no crash log, while `doctor` said all was well.
 */

const message = (content: string, role: 'user' | 'assistant' = 'user') => ({
  id: randomUUID(),
  role,
  content,
  createdAt: new Date().toISOString(),
});

/** Flips one bit inside the first record of a record file, so valid records follow the damage. */
async function damageFirstRecord(path: string): Promise<void> {
  const bytes = await readFile(path);
  const target = bytes.indexOf(0x0a) - 5;
  bytes[target] = (bytes[target] as number) ^ 0x01;
  await writeFile(path, bytes);
}

interface Conversation {
  key: string;
  /** Its messages file: `messages/<id>.log`. */
  file: string;
}

/** A store with three conversations of two messages each. */
async function storeWithConversations(storeDir: string): Promise<[Conversation, Conversation, Conversation]> {
  const store = await LocalStore.open(storeDir, { warn: () => {} });
  const conversations: Conversation[] = [];
  for (const title of ['first', 'second', 'third']) {
    const { key } = await store.createSession('main', title);
    await store.appendMessages(key, [message(`${title} question`), message(`${title} answer`, 'assistant')]);
    conversations.push({ key, file: join(storeDir, 'messages', `${store.sessionIdOf(key)}.log`) });
  }
  await store.close();
  return conversations as [Conversation, Conversation, Conversation];
}

describe('a damaged conversation file stays contained', () => {
  it('sessions.list lists every healthy conversation and marks the damaged one; reading it is STORE_SESSION_DAMAGED', async () => {
    const first = await startTestGateway();
    const stateDir = first.stateDir;
    const storeDir = join(stateDir, 'store');
    await first.gateway.close();
    const [healthyA, broken, healthyB] = await storeWithConversations(storeDir);
    await damageFirstRecord(broken.file);

    const test = await startTestGateway({ stateDir });
    try {
      const { client } = await connectControlClient(test.url, test.token);
      const listed = await client.request('sessions.list', {});
      expect(listed.ok).toBe(true);
      const sessions = (listed.ok ? listed.payload : { sessions: [] }) as {
        sessions: { key: string; messageCount: number; damaged?: true }[];
      };
      const byKey = new Map(sessions.sessions.map((session) => [session.key, session]));
      expect(byKey.size).toBe(3);
      expect(byKey.get(broken.key)?.damaged).toBe(true);
      for (const { key } of [healthyA, healthyB]) {
        expect(byKey.get(key)?.damaged).toBeUndefined();
        expect(byKey.get(key)?.messageCount).toBe(2);
      }

      const history = await client.request('chat.history', { sessionKey: broken.key });
      expect(history.ok ? 'ok' : history.error.details?.code).toBe('STORE_SESSION_DAMAGED');
      if (!history.ok) expect(history.error.message).toContain(broken.file);
      const healthy = await client.request('chat.history', { sessionKey: healthyA.key });
      expect(healthy.ok).toBe(true);
      client.close();
    } finally {
      await test.close();
      await rm(stateDir, { recursive: true, force: true });
    }
  });
});

describe('doctor and start on a damaged store', () => {
  it('doctor names a damaged conversation file; a damaged sessions.log stops start with a clear message and a crash log', async () => {
    const env = await home();
    expect(cli(['token', 'rotate'], env).code).toBe(0);
    const storeDir = join(env.OPENCLAW_STATE_DIR, 'store');
    const [, broken] = await storeWithConversations(storeDir);
    const brokenLog = broken.file;
    await damageFirstRecord(brokenLog);

    const doctor = cli(['doctor', '--offline'], env);
    expect(doctor.code).toBe(1);
    expect(doctor.stdout).toContain(
      `PROBLEM  store: ${brokenLog} is damaged: a record at byte 0 fails its checksum`,
    );

    const sessionsLog = join(storeDir, 'sessions.log');
    await damageFirstRecord(sessionsLog);
    const start = cli(['start', '--port', '0'], env);
    expect(start.code).toBe(70);
    expect(start.stderr).toContain(`the gateway's store is damaged: ${sessionsLog} is damaged at byte 0`);
    expect(start.stderr).toContain(`move ${sessionsLog} aside`);
    expect(start.stderr).not.toMatch(/^\s+at /m);
    const crashDir = join(env.OPENCLAW_STATE_DIR, 'crash');
    const [crashLog] = await readdir(crashDir);
    expect(start.stderr).toContain(`Details: ${join(crashDir, crashLog as string)}`);
    expect(await readFile(join(crashDir, crashLog as string), 'utf8')).toContain('StoreDamagedError');

    const again = cli(['doctor', '--offline', '--json'], env);
    const store = (JSON.parse(again.stdout) as { checks: { name: string; detail: string }[] }).checks.find(
      (check) => check.name === 'store',
    );
    expect(store?.detail).toContain(`${sessionsLog} is damaged`);
    expect(store?.detail).toContain('the gateway cannot start');
    expect(store?.detail).toContain(brokenLog);
  });
});

describe('findDamagedStoreFiles', () => {
  it('finds nothing in a healthy store, and tells files that stop start from a single conversation', async () => {
    const env = await home();
    const storeDir = join(env.OPENCLAW_STATE_DIR, 'store');
    const [, broken] = await storeWithConversations(storeDir);
    expect(await findDamagedStoreFiles(storeDir)).toEqual([]);
    const idempotencyLog = join(storeDir, 'idempotency.log');
    await writeFile(idempotencyLog, Buffer.concat([encodeRecord({ key: 'a' }), encodeRecord({ key: 'b' })]));
    await damageFirstRecord(idempotencyLog);
    await damageFirstRecord(broken.file);
    expect(
      (await findDamagedStoreFiles(storeDir)).map(({ path, blocksStart }) => ({ path, blocksStart })),
    ).toEqual([
      { path: idempotencyLog, blocksStart: true },
      { path: broken.file, blocksStart: false },
    ]);
  });
});
