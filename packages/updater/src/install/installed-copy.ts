import { randomBytes } from 'node:crypto';
import { lstat, mkdir, open, readdir, readlink, rename, rm, symlink, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ensurePrivateDir, fsyncDirectory } from '@multiclaw/runtime/atomic-write';

/**
 * The installed copy, on disk (docs/releasing.md, "What an update changes"):
 *
 *   <root>/<version>/<files>     one directory per installed version, written once
 *   <root>/current  -> <version> what the launcher runs
 *   <root>/previous -> <version> what a failed start rolls back to
 *
 * Each link is replaced by renaming a fresh link over it, which POSIX makes
 * atomic: a reader sees the old version or the new one, never neither. This
 * is the only updater file that writes under <root>.
 */
export interface InstalledCopy {
  root: string;
  current(): Promise<string | undefined>;
  previous(): Promise<string | undefined>;
  /** Writes `files` into <root>/<version>/ (via a temp directory, fsync'd) and answers the directory. */
  stage(version: string, files: Record<string, Uint8Array>): Promise<string>;
  /** current → version, previous → the old current. */
  activate(version: string): Promise<void>;
  /** current → previous (or no current: the launcher's own copy) after a failed start; drops `failed`. */
  rollBack(failed: string): Promise<void>;
  /** Removes every version directory but current and previous. */
  prune(): Promise<void>;
}

const LINKS = new Set(['current', 'previous']);
const VERSION_DIR = /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/;

export function installedCopy(root: string): InstalledCopy {
  async function target(link: string): Promise<string | undefined> {
    try {
      const value = await readlink(join(root, link));
      return VERSION_DIR.test(value) ? value : undefined;
    } catch (error) {
      if (['ENOENT', 'EINVAL'].includes((error as NodeJS.ErrnoException).code ?? '')) return undefined;
      throw error;
    }
  }

  async function pointLink(link: string, version: string | undefined): Promise<void> {
    const path = join(root, link);
    if (version === undefined) {
      await unlink(path).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
    } else {
      const temp = join(root, `.${link}.${randomBytes(6).toString('hex')}.tmp`);
      await symlink(version, temp);
      await rename(temp, path);
    }
    await fsyncDirectory(root);
  }

  return {
    root,
    current: () => target('current'),
    previous: () => target('previous'),

    async stage(version, files) {
      if (!VERSION_DIR.test(version)) throw new Error(`not a version: ${version}`);
      await ensurePrivateDir(root);
      const temp = join(root, `.stage-${version}-${randomBytes(6).toString('hex')}`);
      await mkdir(temp, { mode: 0o700 });
      for (const [name, bytes] of Object.entries(files)) {
        if (name.includes('/') || name.startsWith('.')) throw new Error(`not a plain file name: ${name}`);
        const handle = await open(join(temp, name), 'wx', 0o600);
        try {
          await handle.writeFile(bytes);
          await handle.sync();
        } finally {
          await handle.close();
        }
      }
      await fsyncDirectory(temp);
      const dir = join(root, version);
      // A leftover from an earlier attempt at the same version is never the running copy (that is refused as not newer).
      if ((await target('current')) !== version) await rm(dir, { recursive: true, force: true });
      await rename(temp, dir);
      await fsyncDirectory(root);
      return dir;
    },

    async activate(version) {
      const old = await target('current');
      // No old current (the launcher's own copy ran): rolling back means removing current.
      await pointLink('previous', old === version ? await target('previous') : old);
      await pointLink('current', version);
    },

    async rollBack(failed) {
      const back = await target('previous');
      await pointLink('current', back === failed ? undefined : back);
      await pointLink('previous', undefined);
      await rm(join(root, failed), { recursive: true, force: true });
    },

    async prune() {
      const keep = new Set([await target('current'), await target('previous')]);
      for (const name of await readdir(root).catch(() => [] as string[])) {
        if (LINKS.has(name) || keep.has(name)) continue;
        const stats = await lstat(join(root, name));
        if (stats.isDirectory() && (VERSION_DIR.test(name) || name.startsWith('.stage-'))) {
          await rm(join(root, name), { recursive: true, force: true });
        }
      }
    },
  };
}
