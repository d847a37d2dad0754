import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExitCode } from '@multiclaw/runtime/shutdown';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../test/database.js';

const serverEntry = new URL('./server.ts', import.meta.url).pathname;
const children: ChildProcess[] = [];

type Running = { child: ChildProcess; url: string; output: () => string };

/** Starts `server.ts` as a real process and waits for its "listening" line. */
function startServer(env: Record<string, string>): Promise<Running> {
  const child = spawn(process.execPath, ['--import', 'tsx', serverEntry], {
    env: { PATH: process.env.PATH ?? '', HOME: env.HOME ?? tmpdir(), PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (https?:\/\/[^"\s]+)/.exec(output);
      if (match?.[1]) resolve({ child, url: match[1], output: () => output });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) =>
      reject(new Error(`server exited with ${code} before listening:\n${output}`)),
    );
  });
}

async function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const [code] = await once(child, 'exit');
  return code as number | null;
}

afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});

describe('server process', { timeout: 60_000 }, () => {
  it('refuses to start on a bad configuration with exit code 78, naming each variable', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', serverEntry], {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: mkdtempSync(join(tmpdir(), 'mc-home-')),
        NODE_ENV: 'production',
        DATABASE_URL: 'postgresql://x@127.0.0.1:1/x',
        MULTICLAW_MASTER_KEYS: `1:${Buffer.alloc(16, 7).toString('base64')}`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (c) => {
      output += c;
    });
    expect(await exitOf(child)).toBe(ExitCode.CONFIG);
    expect(output).toContain('MULTICLAW_MASTER_KEYS: entry 1 (1) is 16 bytes');
    expect(output).toContain('MULTICLAW_TOKEN_SIGNING_KEYS: is required');
    expect(output).toContain('PUBLIC_URL: is required in production');
  });

  it('starts with development keys it generates once (0600), serves, and exits 0 on SIGTERM', async () => {
    const database = await createTestDatabase();
    const stateDir = mkdtempSync(join(tmpdir(), 'mc-state-'));
    try {
      const env = { DATABASE_URL: database.url, MULTICLAW_CLOUD_STATE_DIR: stateDir };
      const first = await startServer(env);
      expect(first.output()).toContain('DEVELOPMENT KEYS generated');
      const ready = await fetch(`${first.url}/readyz`);
      expect(ready.status).toBe(200);
      const keysPath = join(stateDir, 'dev-keys.json');
      expect(statSync(keysPath).mode & 0o777).toBe(0o600);
      expect(statSync(stateDir).mode & 0o777).toBe(0o700);
      const keys = readFileSync(keysPath, 'utf8');
      first.child.kill('SIGTERM');
      expect(await exitOf(first.child)).toBe(ExitCode.OK);

      const second = await startServer(env);
      expect(second.output()).not.toContain('DEVELOPMENT KEYS generated');
      expect(readFileSync(keysPath, 'utf8')).toBe(keys);
      second.child.kill('SIGINT');
      expect(await exitOf(second.child)).toBe(ExitCode.OK);
    } finally {
      await database.drop();
    }
  });

  it('exits 69 when the port is taken', async () => {
    const database = await createTestDatabase();
    const stateDir = mkdtempSync(join(tmpdir(), 'mc-state-'));
    try {
      const first = await startServer({ DATABASE_URL: database.url, MULTICLAW_CLOUD_STATE_DIR: stateDir });
      const port = new URL(first.url).port;
      const second = spawn(process.execPath, ['--import', 'tsx', serverEntry], {
        env: {
          PATH: process.env.PATH ?? '',
          HOME: stateDir,
          PORT: port,
          DATABASE_URL: database.url,
          MULTICLAW_CLOUD_STATE_DIR: stateDir,
        },
        stdio: 'ignore',
      });
      children.push(second);
      expect(await exitOf(second)).toBe(ExitCode.UNAVAILABLE);
      first.child.kill('SIGTERM');
      expect(await exitOf(first.child)).toBe(ExitCode.OK);
    } finally {
      await database.drop();
    }
  });
});

describe('zero-configuration start (README line 1)', () => {
  it('starts the embedded PostgreSQL, migrates, serves, and keeps database and keys across restarts', async () => {
    const home = mkdtempSync(join(tmpdir(), 'mc-home-'));
    // No DATABASE_URL, no keys, no NODE_ENV: exactly what a fresh machine has.
    const env = { HOME: home };
    const first = await startServer(env);
    expect(first.output()).toContain('starting the embedded PostgreSQL');
    expect(first.output()).toContain('applied database migrations');
    expect((await fetch(`${first.url}/readyz`)).status).toBe(200);
    const stateDir = join(home, '.multiclaw', 'cloud');
    const keys = readFileSync(join(stateDir, 'dev-keys.json'), 'utf8');
    first.child.kill('SIGTERM');
    expect(await exitOf(first.child)).toBe(ExitCode.OK);

    const second = await startServer(env);
    // The migrations recorded by the first run are still there: the data directory persisted.
    expect(second.output()).toContain('database schema is up to date');
    expect(readFileSync(join(stateDir, 'dev-keys.json'), 'utf8')).toBe(keys);
    expect((await fetch(`${second.url}/readyz`)).status).toBe(200);
    second.child.kill('SIGTERM');
    expect(await exitOf(second.child)).toBe(ExitCode.OK);
  }, 120_000);
});
