import { open, readFile, stat, unlink } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { isRunning } from './atomic-write.js';

/** An empty lock file older than this is stale (its owner died before writing its pid). */
const UNREADABLE_STALE_MS = 5_000;

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
  while (!(await tryCreate(lockPath))) {
    const owner = await staleOwner(lockPath);
    if (owner.stale) {
      await takeOver(lockPath, owner.content);
      continue;
    }
    if (Date.now() > deadline)
      throw new Error(`${lockPath} is held by process ${owner.content || '(unknown)'}`);
    await sleep(20);
  }
  try {
    return await work();
  } finally {
    await unlink(lockPath).catch(() => {});
  }
}

async function tryCreate(path: string): Promise<boolean> {
  try {
    const handle = await open(path, 'wx', 0o600);
    await handle.writeFile(String(process.pid));
    await handle.close();
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

async function staleOwner(path: string): Promise<{ stale: boolean; content: string }> {
  const content = (await readFile(path, 'utf8').catch(() => '')).trim();
  const owner = Number(content);
  if (owner > 0) return { stale: !isRunning(owner), content };
  // An empty lock file may be one whose owner has not written its pid yet: only an old one is stale.
  const info = await stat(path).catch(() => undefined);
  return { stale: info !== undefined && Date.now() - info.mtimeMs > UNREADABLE_STALE_MS, content };
}

/**
 * Removes a stale lock. Two waiters can see the same dead owner; without care
 * the slower one would delete the lock the faster one has just created. So the
 * removal happens under a second lock (`.takeover`) and only after re-reading
 * that the lock still holds the same dead owner.
 */
async function takeOver(lockPath: string, staleContent: string): Promise<void> {
  const takeoverPath = `${lockPath}.takeover`;
  if (!(await tryCreate(takeoverPath))) {
    // Another waiter is taking over; its mutex is stale only if it died in these few lines.
    if ((await staleOwner(takeoverPath)).stale) await unlink(takeoverPath).catch(() => {});
    await sleep(5);
    return;
  }
  try {
    const current = (await readFile(lockPath, 'utf8').catch(() => undefined))?.trim();
    if (current === staleContent) await unlink(lockPath).catch(() => {});
  } finally {
    await unlink(takeoverPath).catch(() => {});
  }
}
