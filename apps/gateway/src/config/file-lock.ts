import { open, readFile, stat, unlink } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { isRunning } from './atomic-write.js';

/**
 * A cross-process lock file (O_EXCL create holding the owner's pid), so the
 * daemon and a CLI command never interleave read-modify-write cycles on the
 * same file. A lock whose owner no longer runs is taken over.
 */
export async function withFileLock<T>(
  lockPath: string,
  work: () => Promise<T>,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const handle = await open(lockPath, 'wx', 0o600);
      await handle.writeFile(String(process.pid));
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number((await readFile(lockPath, 'utf8').catch(() => '')).trim());
      // An empty lock file may be one whose owner has not written its pid yet: only a stale one is taken over.
      const unreadable = !(owner > 0) && Date.now() - (await lockAgeBase(lockPath)) > 5_000;
      if (unreadable || (owner > 0 && !isRunning(owner))) {
        await unlink(lockPath).catch(() => {});
        continue;
      }
      if (Date.now() > deadline) throw new Error(`${lockPath} is held by process ${owner}`);
      await sleep(20);
    }
  }
  try {
    return await work();
  } finally {
    await unlink(lockPath).catch(() => {});
  }
}

async function lockAgeBase(lockPath: string): Promise<number> {
  return (await stat(lockPath).catch(() => ({ mtimeMs: 0 }))).mtimeMs;
}
