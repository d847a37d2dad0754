import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { type EmbeddedPostgres, startEmbeddedPostgres } from './embedded-postgres.js';

const directory = mkdtempSync(join(tmpdir(), 'mc-embedded-pg-'));
const dataDir = join(directory, 'state', 'postgres');
const running: EmbeddedPostgres[] = [];

afterAll(async () => {
  await Promise.all(running.map((server) => server.stop()));
  rmSync(directory, { recursive: true, force: true });
});

async function start(dir: string = dataDir): Promise<EmbeddedPostgres> {
  const server = await startEmbeddedPostgres({ dataDir: dir });
  running.push(server);
  return server;
}

async function withClient<T>(url: string, action: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await action(client);
  } finally {
    await client.end();
  }
}

describe('embedded PostgreSQL', { timeout: 120_000 }, () => {
  it('initialises, serves the application database on loopback only, keeps data across a restart, and stops', async () => {
    const first = await start();
    const url = new URL(first.url);
    expect(url.hostname).toBe('127.0.0.1');
    expect(url.pathname).toBe('/multiclaw');
    expect(Number(url.port)).toBeGreaterThan(0);

    // The generated password: private file next to the data directory, owned by
    // whoever runs the cloud (as root too: no chown to another user).
    const secret = statSync(`${dataDir}.password`);
    expect(secret.mode & 0o777).toBe(0o600);
    expect(secret.uid).toBe(process.getuid?.());
    expect(statSync(dataDir).uid).toBe(process.getuid?.());
    expect(decodeURIComponent(url.password).length).toBeGreaterThanOrEqual(32);

    await withClient(first.url, async (client) => {
      const settings = await client.query<{ listen: string; sockets: string; db: string }>(
        "SELECT current_setting('listen_addresses') AS listen, current_setting('unix_socket_directories') AS sockets, current_database() AS db",
      );
      expect(settings.rows[0]).toEqual({ listen: '127.0.0.1', sockets: '', db: 'multiclaw' });
      await client.query('CREATE TABLE kept (value text)');
      await client.query("INSERT INTO kept VALUES ('survives a restart')");
    });
    // The password is required.
    const wrong = new URL(first.url);
    wrong.password = 'not-the-password';
    await expect(withClient(wrong.toString(), async () => {})).rejects.toThrow(
      /password authentication failed/,
    );

    await first.stop();
    await first.stop(); // idempotent
    await expect(withClient(first.url, async () => {})).rejects.toThrow(/ECONNREFUSED/);

    const second = await start();
    const rows = await withClient(second.url, (client) =>
      client.query<{ value: string }>('SELECT value FROM kept'),
    );
    expect(rows.rows).toEqual([{ value: 'survives a restart' }]);
    await second.stop();
    await expect(withClient(second.url, async () => {})).rejects.toThrow(/ECONNREFUSED/);
  });

  it('refuses a second start on a data directory that is in use', async () => {
    const dir = join(directory, 'in-use');
    const server = await start(dir);
    await expect(startEmbeddedPostgres({ dataDir: dir })).rejects.toThrow(/is in use by process/);
    // The running server was left alone.
    await withClient(server.url, (client) => client.query('SELECT 1'));
    await server.stop();
  });

  it('stops a server left running by a process that was killed, then starts with its data', async () => {
    const dir = join(directory, 'orphaned');
    const moduleUrl = new URL('./embedded-postgres.ts', import.meta.url).href;
    // A separate process starts the server, creates data, and is killed without stopping it.
    const script = `
      import pg from 'pg';
      const { startEmbeddedPostgres } = await import(${JSON.stringify(moduleUrl)});
      const server = await startEmbeddedPostgres({ dataDir: ${JSON.stringify(dir)} });
      const client = new pg.Client({ connectionString: server.url });
      await client.connect();
      await client.query("CREATE TABLE kept AS SELECT 'before the crash' AS value");
      await client.end();
      console.log(server.url);
      process.kill(process.pid, 'SIGKILL');
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: join(import.meta.dirname, '..', '..'),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const signal = await new Promise((resolve) => child.on('exit', (_code, sig) => resolve(sig)));
    expect(signal).toBe('SIGKILL');
    const orphanUrl = output.trim();
    const orphanPid = Number(readFileSync(join(dir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    // The orphan is still serving.
    await withClient(orphanUrl, (client) => client.query('SELECT 1'));

    const server = await start(dir);
    expect(() => process.kill(orphanPid, 0)).toThrow();
    const rows = await withClient(server.url, (client) =>
      client.query<{ value: string }>('SELECT value FROM kept'),
    );
    expect(rows.rows).toEqual([{ value: 'before the crash' }]);
    await server.stop();
  });

  it('refuses a data directory another live process holds, before initialising anything', async () => {
    const dir = join(directory, 'held');
    // The lock of another process that is still running (an earlier version's bare-pid lock),
    // for instance a second cloud starting on the same state directory a moment earlier.
    const holder = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      writeFileSync(`${dir}.owner`, `${holder.pid}\n`);
      // Were it to start, afterAll stops it.
      const outcome = await startEmbeddedPostgres({ dataDir: dir }).then(
        (server) => running.push(server) && 'started',
        (error: Error) => error.message,
      );
      expect(outcome).toContain(`is in use by process ${holder.pid}`);
      expect(existsSync(dir), 'nothing was initialised').toBe(false);
      expect(readFileSync(`${dir}.owner`, 'utf8')).toBe(`${holder.pid}\n`);
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('refuses a data directory that holds something else', async () => {
    const other = join(directory, 'not-a-cluster');
    mkdirSync(other, { recursive: true });
    writeFileSync(join(other, 'precious.txt'), 'do not overwrite');
    await expect(startEmbeddedPostgres({ dataDir: other })).rejects.toThrow(
      /is not a PostgreSQL data directory/,
    );
    expect(readFileSync(join(other, 'precious.txt'), 'utf8')).toBe('do not overwrite');
  });
});
