/**
 * Architecture rule: only infrastructure is shared with the whole app through
 * fastify-plugin; every feature (src/modules/) is an encapsulated plugin under
 * its prefix, so what a route can use is what its scope registered (app.ts).
 * Infrastructure lives in src/plugins/; every other source file is searched
 * for the import.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('.', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.ts$/.test(entry.name) && !/\.test\.ts$/.test(entry.name) ? [path] : [];
  });
}

describe('encapsulation', () => {
  it('only infrastructure (src/plugins/) uses fastify-plugin, no feature', () => {
    const importing = sourceFiles(SRC)
      .filter((file) =>
        /(from\s+|import\(\s*|require\(\s*)['"]fastify-plugin['"]/.test(readFileSync(file, 'utf8')),
      )
      .map((file) => relative(SRC, file).split(sep).join('/'))
      .sort();
    // The search finds the infrastructure plugins that do use it, so it can find a feature's.
    expect(importing).toContain('plugins/database.ts');
    expect(importing.filter((file) => !file.startsWith('plugins/'))).toEqual([]);
  });
});
