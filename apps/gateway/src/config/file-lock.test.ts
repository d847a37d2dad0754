import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { withFileLock } from './file-lock.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mc-lock-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

/** The pid of a process that has already exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
    encoding: 'utf8',
  });
  return Number(child.stdout);
}

/** Runs `holders` lock users at once; returns the most that were ever inside the lock together. */
async function maxConcurrent(lockPath: string, holders: number): Promise<number> {
  let inside = 0;
  let most = 0;
  await Promise.all(
    Array.from({ length: holders }, () =>
      withFileLock(lockPath, async () => {
        inside += 1;
        most = Math.max(most, inside);
        await sleep(2);
        inside -= 1;
      }),
    ),
  );
  return most;
}

describe('withFileLock', () => {
  it('admits one holder at a time', async () => {
    expect(await maxConcurrent(join(dir, 'a.lock'), 20)).toBe(1);
  });

  it('takes over a lock left by a dead process, and many waiters racing for it still get one at a time', async () => {
    for (let round = 0; round < 20; round++) {
      const lockPath = join(dir, `stale-${round}.lock`);
      await writeFile(lockPath, String(deadPid()));
      expect(await maxConcurrent(lockPath, 8)).toBe(1);
    }
    // Nothing is left behind: neither lock files nor takeover markers.
    expect(await readdir(dir)).toEqual([]);
  });

  it('times out naming the live holder', async () => {
    const lockPath = join(dir, 'held.lock');
    await writeFile(lockPath, String(process.ppid));
    await expect(withFileLock(lockPath, async () => 'never', 100)).rejects.toThrow(
      `held by process ${process.ppid}`,
    );
  });
});
