import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, vi } from 'vitest';
import { runCli } from '../../src/cli/main.js';

/** The real `multiclaw-gateway` binary, run as a child process with its own HOME and state directory. */
export const BIN = fileURLToPath(new URL('../../bin/multiclaw-gateway.mjs', import.meta.url));

let dirs: string[] = [];
let children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children) child.kill('SIGKILL');
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  dirs = [];
  children = [];
});

/** Kills `child` after the test. */
export function track<T extends ChildProcess>(child: T): T {
  children.push(child);
  return child;
}

export async function home() {
  const dir = await mkdtemp(join(tmpdir(), 'mc-cli-'));
  dirs.push(dir);
  return { HOME: dir, OPENCLAW_STATE_DIR: join(dir, 'state'), PATH: process.env.PATH ?? '' };
}

export function cli(args: string[], env: NodeJS.ProcessEnv) {
  const result = spawnSync(process.execPath, [BIN, ...args], { env, encoding: 'utf8', timeout: 20_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/**
 * The CLI run in this process (`runCli`), its output captured: for the many
 * cases that need no process of their own (help, usage errors), so a test does
 * not pay a process start per case on a loaded machine.
 */
export async function cliInProcess(args: string[], env: NodeJS.ProcessEnv) {
  const out: string[] = [];
  const err: string[] = [];
  const capture = (into: string[]) => (chunk: string | Uint8Array) => {
    into.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  };
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(capture(out));
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(capture(err));
  try {
    const code = await runCli(args, env);
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
  }
}

/** Starts `multiclaw-gateway start` and resolves once it logs that it listens. */
export function startDaemon(env: NodeJS.ProcessEnv, args: string[] = []) {
  const child = track(
    spawn(process.execPath, [BIN, 'start', '--port', '0', ...args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const listening = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (data: Buffer) => {
      output += data.toString();
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match?.[1]) resolve(match[1]);
    });
    child.stderr.on('data', (data: Buffer) => {
      output += data.toString();
    });
    exited.then((code) => reject(new Error(`exited ${code}: ${output}`)));
  });
  return { child, listening, exited, output: () => output };
}

export const configPathOf = (env: NodeJS.ProcessEnv) =>
  join(env.OPENCLAW_STATE_DIR as string, 'openclaw.json');

export const readConfig = async (env: NodeJS.ProcessEnv) =>
  JSON.parse(await readFile(configPathOf(env), 'utf8')) as {
    gateway: { port: number; auth: { token: string } };
  };
