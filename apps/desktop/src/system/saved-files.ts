import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '@multiclaw/runtime/atomic-write';

/**
 * Saves a file the person asked for (an export) where they look for one:
 * ~/Downloads when it exists, else the home folder; private (0600), written
 * whole or not at all. The name is cut to letters, digits and dashes.
 */
export async function saveForPerson(
  env: NodeJS.ProcessEnv,
  name: { stem: string; unique: string; suffix: string },
  contents: string,
): Promise<string> {
  const home = env.HOME ?? '.';
  const downloads = join(home, 'Downloads');
  const slug = name.stem
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60);
  const path = join(
    existsSync(downloads) ? downloads : home,
    `${slug || 'export'}-${name.unique}${name.suffix}`,
  );
  await writeFileAtomic(path, contents, 0o600);
  return path;
}
