import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('..', import.meta.url));

async function sources(dir = SRC): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const files = await Promise.all(
    entries.map((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return sources(path);
      return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : [];
    }),
  );
  return files.flat();
}

/** The host files that import `module` (static imports, dynamic imports and require). */
async function importersOf(module: RegExp): Promise<string[]> {
  const found: string[] = [];
  for (const file of await sources()) {
    const text = await readFile(file, 'utf8');
    const imports = [...text.matchAll(/(?:from\s+|import\s*\(\s*|require\s*\(\s*)['"]([^'"]+)['"]/g)].map(
      (match) => match[1] ?? '',
    );
    if (imports.some((name) => module.test(name))) found.push(relative(SRC, file));
  }
  return found.sort();
}

describe('one door per dangerous thing', () => {
  it('only system/processes.ts starts other programs', async () => {
    expect(await importersOf(/^(node:)?child_process$/)).toEqual(['system/processes.ts']);
  });

  it('only the files whose job is a file of the state directory, the capability folder or a file the person saves touch the file system', async () => {
    expect(await importersOf(/^(node:)?fs(\/promises)?$/)).toEqual([
      'capabilities/capability-file.ts',
      'state/cloud-session-file.ts',
      'state/settings-store.ts',
      'system/processes.ts',
      'system/saved-files.ts',
      'version.ts',
      'web/static-ui.ts',
    ]);
  });

  it('only cloud/cloud-egress.ts calls fetch: every request of the host goes to the configured cloud through its check', async () => {
    const callers: string[] = [];
    for (const file of await sources()) {
      if (/\bfetch\(/.test(await readFile(file, 'utf8'))) callers.push(relative(SRC, file));
    }
    expect(callers).toEqual(['cloud/cloud-egress.ts']);
  });

  it('reads the window secret header in one place', async () => {
    const readers: string[] = [];
    for (const file of await sources()) {
      if ((await readFile(file, 'utf8')).includes('DESKTOP_SECRET_HEADER')) readers.push(relative(SRC, file));
    }
    expect(readers).toEqual(['ipc/ipc-routes.ts']);
  });
});
