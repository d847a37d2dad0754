import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { LoginResponse } from '@multiclaw/protocol';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/database.js';
import { createTestApp } from '../../test/support/app.js';

/**
 * docs/backup.md, proven: a pg_dump of a live cloud's database restored into
 * a fresh, empty database, plus the master keys kept apart from it, is enough
 * for a new cloud to reveal a secret stored before the backup. Without the
 * master keys the restored secret stays sealed; new token signing keys only
 * sign everyone out.
 */
const run = promisify(execFile);
const MASTER_KEYS = `1:${randomBytes(32).toString('base64')}`;
const PASSWORD = 'correct horse battery staple 42';
const cleanup: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => undefined);
});

/** The machine's pg_dump/pg_restore (postgresql-client); missing, the test fails saying so. */
async function pg(tool: 'pg_dump' | 'pg_restore', args: string[]): Promise<void> {
  try {
    await run(tool, args, { timeout: 300_000, maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(
        `${tool} is not installed; the backup test needs it: apt-get install -y postgresql-client`,
      );
    }
    throw error;
  }
}

async function signIn(app: Awaited<ReturnType<typeof createTestApp>>, email: string): Promise<string> {
  const login = await app.app.inject({
    method: 'POST',
    url: '/v1/auth/login',
    payload: { email, password: PASSWORD },
  });
  expect(login.statusCode, login.body).toBe(200);
  return LoginResponse.parse(login.json()).accessToken;
}

describe('backup and restore (docs/backup.md)', () => {
  it('a pg_dump restored into a fresh database, with the master keys, reveals a secret stored before the dump', async () => {
    const original = await createTestApp({ env: { MULTICLAW_MASTER_KEYS: MASTER_KEYS } });
    cleanup.push(() => original.close());
    const email = `backup-${randomBytes(4).toString('hex')}@example.com`;
    const registered = await original.app.inject({
      method: 'POST',
      url: '/v1/auth/register',
      payload: { email, password: PASSWORD },
    });
    expect(registered.statusCode, registered.body).toBe(201);
    const oldToken = await signIn(original, email);
    const auth = { authorization: `Bearer ${oldToken}` };
    const workspace = await original.app.inject({
      method: 'POST',
      url: '/v1/workspaces',
      headers: auth,
      payload: { name: 'backed up' },
    });
    expect(workspace.statusCode, workspace.body).toBe(201);
    const wid = workspace.json().id as string;
    const value = `sk-live-${randomBytes(16).toString('hex')}`;
    const secret = await original.app.inject({
      method: 'POST',
      url: `/v1/workspaces/${wid}/secrets`,
      headers: auth,
      payload: { name: 'PROVIDER_KEY', value },
    });
    expect(secret.statusCode, secret.body).toBe(201);
    const sid = secret.json().id as string;

    // The backup: a dump of the database, as docs/backup.md says to take it.
    const dir = await mkdtemp(join(tmpdir(), 'multiclaw-backup-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const dump = join(dir, 'multiclaw.dump');
    await pg('pg_dump', [
      '--format=custom',
      '--no-owner',
      '--no-privileges',
      `--file=${dump}`,
      original.databaseUrl,
    ]);
    // The original is gone.
    await original.close();

    // The restore: into a fresh, empty database.
    const fresh: TestDatabase = await createTestDatabase({ migrated: false });
    cleanup.push(() => fresh.drop());
    await pg('pg_restore', [
      '--no-owner',
      '--no-privileges',
      '--exit-on-error',
      `--dbname=${fresh.url}`,
      dump,
    ]);

    // New token signing keys (validEnv draws fresh ones): old tokens stop working, sign-in works.
    const restored = await createTestApp({
      databaseUrl: fresh.url,
      env: { MULTICLAW_MASTER_KEYS: MASTER_KEYS },
    });
    cleanup.push(() => restored.close());
    const stale = await restored.app.inject({ method: 'GET', url: '/v1/me', headers: auth });
    expect(stale.statusCode).toBe(401);
    const token = await signIn(restored, email);
    const revealed = await restored.app.inject({
      method: 'POST',
      url: `/v1/workspaces/${wid}/secrets/${sid}/reveal`,
      headers: { authorization: `Bearer ${token}` },
    });
    expect(revealed.statusCode, revealed.body).toBe(200);
    expect(revealed.json()).toEqual({ value });
    await restored.close();

    // The same dump without the master keys (another key in their place): the secret stays sealed.
    const keyless = await createTestApp({ databaseUrl: fresh.url });
    cleanup.push(() => keyless.close());
    const attempt = await keyless.app.inject({
      method: 'POST',
      url: `/v1/workspaces/${wid}/secrets/${sid}/reveal`,
      headers: { authorization: `Bearer ${await signIn(keyless, email)}` },
    });
    expect(attempt.statusCode).toBeGreaterThanOrEqual(500);
    expect(attempt.body).not.toContain(value);
  }, 600_000);
});
