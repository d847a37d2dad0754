import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { expect, it } from 'vitest';

const APP = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The production build (scripts/bundle-app.mjs) inlines the workspace packages
 * (@multiclaw/*) and imports every other package at run time from the
 * desktop's own node_modules. So each package the bundle imports — including
 * those the gateway's and other workspace code brings in — must be a
 * dependency of @multiclaw/desktop, or `node dist/cli/main.js` fails at start.
 * Bundled here in memory, the same way, without touching dist/.
 */
it('every package the built CLI imports at run time is a dependency of the desktop', async () => {
  const result = await esbuild.build({
    entryPoints: [`${APP}/src/cli/main.ts`],
    bundle: true,
    write: false,
    platform: 'node',
    format: 'esm',
    metafile: true,
    logLevel: 'silent',
    plugins: [
      {
        name: 'external-packages',
        setup(build) {
          build.onResolve({ filter: /^[^./]/ }, (args) =>
            args.path.startsWith('@multiclaw/') ? undefined : { path: args.path, external: true },
          );
        },
      },
    ],
  });
  const imported = new Set(
    Object.values(result.metafile.outputs)
      .flatMap((output) => output.imports)
      .filter((entry) => entry.external && !entry.path.startsWith('node:'))
      .map((entry) => entry.path),
  );
  expect(imported.size).toBeGreaterThan(3);
  const fromDesktop = createRequire(`${APP}/package.json`);
  const missing = [...imported].filter((path) => {
    try {
      fromDesktop.resolve(path);
      return false;
    } catch {
      return true;
    }
  });
  expect(missing).toEqual([]);
});
