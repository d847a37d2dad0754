import { lstat, readFile, realpath, stat } from 'node:fs/promises';
import { writeFileAtomic } from '@multiclaw/runtime/atomic-write';
import type { GatewayPaths } from './paths.js';
import { octal } from './permissions.js';

/**
 * OpenClaw's rule for a symlinked `openclaw.json`: the permission check would
 * look at the link, not at the file that holds the secrets, and every atomic
 * write would replace the link and leave the old token and API keys behind in
 * the target. So a symlinked config is refused (`--strict`), or replaced by a
 * private copy only after a warning that names the target.
 */
export interface SymlinkedConfig {
  path: string;
  /** Where the link points (resolved), and that file's mode when it exists. */
  target: string;
  targetMode: number | undefined;
}

export class ConfigSymlinkError extends Error {
  constructor(readonly link: SymlinkedConfig) {
    super(
      `refusing to start (--strict): ${link.path} is a symbolic link to ${describeTarget(link)}. ` +
        `Replace the link with the file itself (mode 0600), or start without --strict to have it copied.`,
    );
    this.name = 'ConfigSymlinkError';
  }
}

export async function findSymlinkedConfig(paths: GatewayPaths): Promise<SymlinkedConfig | undefined> {
  const info = await lstat(paths.configPath).catch(() => undefined);
  if (!info?.isSymbolicLink()) return undefined;
  const target = await realpath(paths.configPath).catch(() => undefined);
  const targetMode = target ? ((await stat(target).catch(() => undefined))?.mode ?? 0) & 0o777 : undefined;
  return { path: paths.configPath, target: target ?? '(a missing file)', targetMode };
}

/**
 * With `strict`, throws ConfigSymlinkError. Otherwise copies the target's
 * content into a real 0600 file in place of the link, after warning that the
 * old target still holds the secrets.
 */
export async function replaceSymlinkedConfig(
  paths: GatewayPaths,
  options: { strict: boolean; warn: (message: string) => void },
): Promise<SymlinkedConfig | undefined> {
  const link = await findSymlinkedConfig(paths);
  if (!link) return undefined;
  if (options.strict) throw new ConfigSymlinkError(link);
  options.warn(
    `${link.path} is a symbolic link to ${describeTarget(link)}; replacing the link with a private 0600 copy. ` +
      `${link.target} still holds the gateway token and any provider API keys: delete it, then run "multiclaw-gateway token rotate" and replace those keys if other users could read it.`,
  );
  const content = await readFile(paths.configPath).catch(() => undefined);
  // A dangling link: ConfigFile.open writes a fresh config over it.
  if (content === undefined) return link;
  await writeFileAtomic(paths.configPath, content, 0o600);
  return link;
}

function describeTarget(link: SymlinkedConfig): string {
  return link.targetMode === undefined ? link.target : `${link.target} (mode ${octal(link.targetMode)})`;
}
