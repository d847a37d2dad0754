import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { open, readFile, stat, unlink } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { isRunning } from './process.js';

/** An empty lock file older than this is stale (its owner died before writing who it is). */
const UNREADABLE_STALE_MS = 5_000;

/** This process, as lock files name it: a pid alone can be reused by an unrelated program. */
const SELF = { pid: process.pid, instance: randomUUID(), startTime: processStartTime(process.pid) };

/** What a lock file holds: who owns it, precisely enough to tell a reused pid apart. */
export interface LockOwner {
  pid: number;
  /** Random per process: the same pid in a later process (a container restart) is not the owner. */
  instance?: string;
  /** Field 22 of /proc/<pid>/stat (start time since boot, in clock ticks), where there is /proc. */
  startTime?: string;
}

export class LockHeldError extends Error {
  constructor(
    readonly path: string,
    readonly owner: LockOwner | undefined,
  ) {
    super(`${path} is held by process ${owner?.pid ?? '(unknown)'}`);
    this.name = 'LockHeldError';
  }
}

export interface FileLock {
  release(): Promise<void>;
}

/**
 * The one cross-process lock file (O_EXCL create holding the owner's pid,
 * instance id and process start time): the gateway's config takes it for its
 * short read-modify-write cycles, its store for its whole lifetime. A lock
 * whose owner is gone — dead, or its pid now belongs to a later process — is
 * taken over, under a takeover lock so that two waiters never both take it.
 * `waitMs: 0` fails at once with LockHeldError when a live owner holds it.
 */
export async function acquireFileLock(path: string, options: { waitMs: number }): Promise<FileLock> {
  const deadline = Date.now() + options.waitMs;
  while (!(await tryCreate(path))) {
    const current = await readOwner(path);
    if (current.stale) {
      await takeOver(path, current.content);
      continue;
    }
    if (Date.now() >= deadline) throw new LockHeldError(path, current.owner);
    await sleep(20);
  }
  return { release: () => releaseIfOurs(path) };
}

/** Runs `work` holding the lock at `lockPath`, waiting up to `timeoutMs` for it. */
export async function withFileLock<T>(
  lockPath: string,
  work: () => Promise<T>,
  timeoutMs = 10_000,
): Promise<T> {
  const lock = await acquireFileLock(lockPath, { waitMs: timeoutMs });
  try {
    return await work();
  } finally {
    await lock.release();
  }
}

async function tryCreate(path: string): Promise<boolean> {
  try {
    const handle = await open(path, 'wx', 0o600);
    await handle.writeFile(JSON.stringify(SELF));
    await handle.close();
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

/** Only our own lock is removed: a lock taken over by another process after we were thought gone is theirs. */
async function releaseIfOurs(path: string): Promise<void> {
  const { owner } = await readOwner(path);
  if (owner?.pid === SELF.pid && owner.instance === SELF.instance) await unlink(path).catch(() => {});
}

async function readOwner(
  path: string,
): Promise<{ stale: boolean; content: string; owner: LockOwner | undefined }> {
  const content = (await readFile(path, 'utf8').catch(() => '')).trim();
  const owner = parseOwner(content);
  const info = await stat(path).catch(() => undefined);
  if (!owner) {
    // An empty lock file may be one whose owner has not written itself yet: only an old one is stale.
    return { stale: info !== undefined && Date.now() - info.mtimeMs > UNREADABLE_STALE_MS, content, owner };
  }
  return { stale: ownerState(owner, info?.mtimeMs) !== 'running', content, owner };
}

/** What holds the lock at `path`, for `doctor`: nobody, a running owner, or a stale lock and why. */
export async function inspectFileLock(
  path: string,
): Promise<
  | { state: 'free' }
  | { state: 'running'; owner: LockOwner }
  | { state: 'dead' | 'reused' | 'unwritten'; owner: LockOwner | undefined }
> {
  const info = await stat(path).catch(() => undefined);
  if (!info) return { state: 'free' };
  const owner = parseOwner((await readFile(path, 'utf8').catch(() => '')).trim());
  if (!owner) return { state: 'unwritten', owner };
  return { state: ownerState(owner, info.mtimeMs), owner };
}

/** A lock file of this version (JSON) or of earlier ones (a bare pid). */
function parseOwner(content: string): LockOwner | undefined {
  if (/^\d+$/.test(content)) return { pid: Number(content) };
  try {
    const value = JSON.parse(content) as Partial<LockOwner>;
    return Number.isInteger(value.pid) && (value.pid as number) > 0 ? (value as LockOwner) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The owner still runs if its pid does and that pid is still the same process:
 * same instance id when it is us, same start time when /proc tells it, and for
 * a bare-pid lock of an earlier version, a process that started before the
 * lock was written. Otherwise its pid is dead, or reused by another program.
 */
function ownerState(owner: LockOwner, writtenAtMs: number | undefined): 'running' | 'dead' | 'reused' {
  if (owner.pid === SELF.pid) return owner.instance === SELF.instance ? 'running' : 'reused';
  if (!isRunning(owner.pid)) return 'dead';
  const startTime = processStartTime(owner.pid);
  if (startTime === undefined) return 'running';
  if (owner.startTime !== undefined) return owner.startTime === startTime ? 'running' : 'reused';
  const startedAtMs = processStartedAtMs(startTime);
  const same = startedAtMs === undefined || writtenAtMs === undefined || startedAtMs <= writtenAtMs + 1_000;
  return same ? 'running' : 'reused';
}

function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Wall-clock start of a process from its /proc start time: boot time plus ticks at USER_HZ (100 on Linux). */
function processStartedAtMs(startTime: string): number | undefined {
  try {
    const bootSeconds = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]);
    const ms = bootSeconds * 1000 + Number(startTime) * 10;
    return Number.isFinite(ms) && bootSeconds > 0 ? ms : undefined;
  } catch {
    return undefined;
  }
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
    if ((await readOwner(takeoverPath)).stale) await unlink(takeoverPath).catch(() => {});
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
