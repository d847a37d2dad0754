import { acquireFileLock, type FileLock, LockHeldError } from '@multiclaw/runtime/file-lock';

/** Another live gateway process (or this one) holds the store: `store.lock`, docs/gateway-store.md. */
export class StoreLockedError extends Error {
  constructor(readonly pid: number) {
    super(`another gateway (process ${pid}) is using this state directory`);
    this.name = 'StoreLockedError';
  }
}

/** The store locks this process holds, by path (@multiclaw/runtime/file-lock: the one lock mechanism). */
const heldLocks = new Map<string, FileLock>();

/** Fails at once when another live gateway (or this process) holds the store; takes over a stale lock. */
export async function acquireStoreLock(path: string): Promise<void> {
  try {
    heldLocks.set(path, await acquireFileLock(path, { waitMs: 0 }));
  } catch (error) {
    if (error instanceof LockHeldError) throw new StoreLockedError(error.owner?.pid ?? 0);
    throw error;
  }
}

export async function releaseStoreLock(path: string): Promise<void> {
  const lock = heldLocks.get(path);
  heldLocks.delete(path);
  await lock?.release();
}
