import { chmod, lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { GatewayPaths } from './paths.js';

export interface LoosePermission {
  path: string;
  kind: 'directory' | 'file';
  mode: number;
  expected: number;
}

export class PermissionError extends Error {
  constructor(readonly loose: LoosePermission[]) {
    super(
      `refusing to start (--strict): these are readable or writable by other users:\n${loose
        .map((entry) => `  - ${entry.path} is ${octal(entry.mode)}, expected ${octal(entry.expected)}`)
        .join('\n')}`,
    );
    this.name = 'PermissionError';
  }
}

export const octal = (mode: number) => `0${(mode & 0o777).toString(8)}`;

/**
 * Everything the gateway keeps is private to its user: directories 0700,
 * files 0600. Finds whatever is looser (any group or other bit), walking the
 * state directory without following symlinks.
 */
export async function findLoosePermissions(paths: GatewayPaths): Promise<LoosePermission[]> {
  const loose: LoosePermission[] = [];
  const visit = async (path: string, depth: number): Promise<void> => {
    const info = await lstat(path).catch(() => undefined);
    if (!info || info.isSymbolicLink()) return;
    if (info.isDirectory()) {
      if (info.mode & 0o077)
        loose.push({ path, kind: 'directory', mode: info.mode & 0o777, expected: 0o700 });
      if (depth < 4) {
        for (const name of await readdir(path)) await visit(join(path, name), depth + 1);
      }
    } else if (info.isFile() && info.mode & 0o077) {
      loose.push({ path, kind: 'file', mode: info.mode & 0o777, expected: 0o600 });
    }
  };
  await visit(paths.stateDir, 0);
  if (!loose.some((entry) => entry.path === paths.configPath)) {
    const info = await lstat(paths.configPath).catch(() => undefined);
    if (info?.isFile() && info.mode & 0o077) {
      loose.push({ path: paths.configPath, kind: 'file', mode: info.mode & 0o777, expected: 0o600 });
    }
  }
  return loose;
}

/** Repairs loose permissions (warning about each), or with `strict` refuses with a PermissionError. */
export async function enforcePrivatePermissions(
  paths: GatewayPaths,
  options: { strict: boolean; warn: (message: string) => void },
): Promise<LoosePermission[]> {
  const loose = await findLoosePermissions(paths);
  if (loose.length === 0) return loose;
  if (options.strict) throw new PermissionError(loose);
  for (const entry of loose) {
    await chmod(entry.path, entry.expected);
    options.warn(
      `repaired permissions of ${entry.path}: was ${octal(entry.mode)}, now ${octal(entry.expected)}`,
    );
  }
  return loose;
}
