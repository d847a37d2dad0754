import { spawn } from 'node:child_process';
import { mkdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, home, startDaemon, track } from '../../test/support/cli.js';

/**
 * Issue 11: a stale store.lock whose pid now belongs to an unrelated process
 * blocked `start`. The lock names its owner by more than a pid
 * (@multiclaw/runtime/file-lock), so start takes such a lock over.
 */
/** What `doctor` says about store.lock. */
function storeLockCheck(env: NodeJS.ProcessEnv): string | undefined {
  const report = JSON.parse(cli(['doctor', '--json', '--offline'], env).stdout) as {
    checks: { name: string; detail: string }[];
  };
  return report.checks.find((check) => check.name === 'store lock')?.detail;
}

describe.skipIf(process.platform !== 'linux')('start and a stale store.lock', () => {
  it('starts over a lock whose pid is now an unrelated program, in either lock format', async () => {
    const env = await home();
    expect(cli(['token', 'rotate'], env).code).toBe(0);
    const unrelated = track(spawn('sleep', ['60'], { stdio: 'ignore' }));
    const lockPath = join(env.OPENCLAW_STATE_DIR, 'store', 'store.lock');
    await mkdir(join(env.OPENCLAW_STATE_DIR, 'store'), { recursive: true, mode: 0o700 });

    // An earlier version's bare pid, written an hour before that process started.
    await writeFile(lockPath, String(unrelated.pid), { mode: 0o600 });
    const hourAgo = new Date(Date.now() - 3_600_000);
    await utimes(lockPath, hourAgo, hourAgo);
    expect(storeLockCheck(env)).toBe(
      `${lockPath} is stale (process ${unrelated.pid} is now another program, not the gateway that wrote it); "start" takes it over`,
    );
    const first = startDaemon(env);
    await first.listening;
    expect(JSON.parse(await readFile(lockPath, 'utf8')).pid).toBe(first.child.pid);
    first.child.kill('SIGKILL');
    await first.exited;

    // This version's format, left by a gateway killed with -9 whose pid went to that program.
    await writeFile(lockPath, JSON.stringify({ pid: unrelated.pid, instance: 'gone', startTime: '1' }));
    const second = startDaemon(env);
    await second.listening;
    expect(JSON.parse(await readFile(lockPath, 'utf8')).pid).toBe(second.child.pid);
    expect(storeLockCheck(env)).toBe(`held by a running gateway (process ${second.child.pid})`);
  });
});
