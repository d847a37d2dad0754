import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readdir, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { isRunning } from './process.js';

/**
 * Replaces `path` with `data` so that a reader (or a crash at any instant)
 * sees either the old file or the new one, never a mix: write a temp file in
 * the same directory (created exclusively, with `mode`), fsync it, rename it
 * over the target, fsync the directory. A failed write or rename removes the
 * temp file; a writer killed mid-write leaves one that `removeStaleTempFiles`
 * recognises by its pid.
 *
 * A symbolic link at `path` is replaced by the file, never written through:
 * the link's target keeps its old content (the gateway's symlinked-config.ts
 * relies on this). The directory must exist; `writePrivateFileAtomic` creates it.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', mode);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await unlink(temp).catch(() => {});
    throw error;
  }
  await handle.close();
  try {
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw error;
  }
  await fsyncDirectory(dir);
}

/** Creates a directory (and its parents) only its owner can enter; an existing one is made 0700. */
export async function ensurePrivateDir(path: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o700 });
  await chmod(path, 0o700);
}

/** A credential file: 0600, written atomically, in a directory made private (0700) first. */
export async function writePrivateFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await ensurePrivateDir(dirname(path));
  await writeFileAtomic(path, data, 0o600);
}

export async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Removes temp files left by writers that were killed mid-write (their pid no longer runs). */
export async function removeStaleTempFiles(path: string): Promise<string[]> {
  const dir = dirname(path);
  const prefix = `.${basename(path)}.`;
  const removed: string[] = [];
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
    const pid = Number(name.slice(prefix.length).split('.')[0]);
    if (Number.isInteger(pid) && pid > 0 && isRunning(pid)) continue;
    await unlink(join(dir, name)).catch(() => {});
    removed.push(name);
  }
  return removed;
}
