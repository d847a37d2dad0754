import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireFileLock, LockHeldError, withFileLock } from './file-lock.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mc-lock-'));
});
let children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children) child.kill('SIGKILL');
  children = [];
  await rm(dir, { recursive: true, force: true });
});

/** A live process that is not the lock's owner: what a reused pid points at. */
function unrelatedProcess(): number {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  children.push(child);
  return child.pid as number;
}

const HOUR_AGO = new Date(Date.now() - 3_600_000);

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
    // 20 rounds of 8 waiters each spawning a dead process: under a full CI run on 2 cores this took over 30 s.
  }, 180_000);

  it('times out naming the live holder', async () => {
    const lockPath = join(dir, 'held.lock');
    await writeFile(lockPath, String(process.ppid));
    await expect(withFileLock(lockPath, async () => 'never', 100)).rejects.toThrow(
      `held by process ${process.ppid}`,
    );
  });

  it('writes who holds it: pid, a random instance id and the process start time', async () => {
    const lockPath = join(dir, 'who.lock');
    await withFileLock(lockPath, async () => {
      const owner = JSON.parse(await readFile(lockPath, 'utf8'));
      expect(owner.pid).toBe(process.pid);
      expect(owner.instance).toMatch(/^[0-9a-f-]{36}$/);
      if (process.platform === 'linux') expect(owner.startTime).toMatch(/^\d+$/);
    });
  });

  it('takes over a lock whose pid now belongs to an unrelated process (its start time differs)', async (ctx) => {
    if (process.platform !== 'linux') return ctx.skip();
    const lockPath = join(dir, 'reused.lock');
    await writeFile(lockPath, JSON.stringify({ pid: unrelatedProcess(), instance: 'gone', startTime: '1' }));
    expect(await withFileLock(lockPath, async () => 'taken', 100)).toBe('taken');
  });

  it('takes over a bare-pid lock of an earlier version when that pid started after the lock was written', async (ctx) => {
    if (process.platform !== 'linux') return ctx.skip();
    const lockPath = join(dir, 'legacy.lock');
    await writeFile(lockPath, String(unrelatedProcess()));
    await utimes(lockPath, HOUR_AGO, HOUR_AGO);
    expect(await withFileLock(lockPath, async () => 'taken', 100)).toBe('taken');
  });

  it('keeps a lock held by a live owner, naming it, without waiting when asked not to', async () => {
    const lockPath = join(dir, 'live.lock');
    const held = await acquireFileLock(lockPath, { waitMs: 0 });
    const error = await acquireFileLock(lockPath, { waitMs: 0 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(LockHeldError);
    expect((error as LockHeldError).owner?.pid).toBe(process.pid);
    await held.release();
    await expect(stat(lockPath)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('does not delete at once a lock whose owner has not written itself yet; an old empty one is stale', async () => {
    const lockPath = join(dir, 'empty.lock');
    await writeFile(lockPath, '');
    await expect(withFileLock(lockPath, async () => 'never', 100)).rejects.toBeInstanceOf(LockHeldError);
    expect(await readFile(lockPath, 'utf8')).toBe('');
    await utimes(lockPath, HOUR_AGO, HOUR_AGO);
    expect(await withFileLock(lockPath, async () => 'taken', 100)).toBe('taken');
  });

  it('never removes a lock that is no longer its own', async () => {
    const lockPath = join(dir, 'theirs.lock');
    const mine = await acquireFileLock(lockPath, { waitMs: 0 });
    // Someone decided we were gone and took over: their lock must survive our release.
    const theirs = JSON.stringify({ pid: process.ppid, instance: 'theirs' });
    await writeFile(lockPath, theirs);
    await mine.release();
    expect(await readFile(lockPath, 'utf8')).toBe(theirs);
  });
});
