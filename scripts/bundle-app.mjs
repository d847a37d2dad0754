#!/usr/bin/env node
/**
 * An app's production build: `node ../../scripts/bundle-app.mjs <entry.ts>...`, run in the
 * app's directory by its `build` script. Each entry becomes one ES module under dist/
 * (src/server.ts → dist/server.js, scripts/db-migrate.ts → dist/scripts/db-migrate.js) that
 * inlines the app's own modules and the workspace packages it imports (@multiclaw/*) and
 * imports every other package from node_modules at run time, so `node dist/…` needs the
 * app's production dependencies and nothing else.
 *
 * Why a bundler rather than tsc plus a compiled @multiclaw/protocol behind conditional
 * exports: the workspace packages keep exporting their TypeScript source, so tsx, vitest,
 * tsc and every test that spawns `node --import tsx` resolve them exactly as before — no
 * build before a test, no stale dist/ to fall out of step with the source — and one file
 * per entry starts faster than a few hundred. esbuild only strips types: `pnpm typecheck`
 * checks them.
 *
 * In a bundle every module would see the bundle's import.meta.url. Each module's is
 * rewritten to its own source file's URL, so paths computed from it (the cloud's prisma/
 * folder, the gateway's package.json and bin/) resolve exactly as they do under tsx; the
 * entry keeps the bundle's own URL (the gateway's "am I the main module" check).
 *
 * Next to each bundle, <name>.inputs.json lists the source files it was built from
 * (relative to the bundle), so a launcher can tell a stale build from a current one
 * (apps/gateway/bin/multiclaw-gateway.mjs).
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';

const entries = process.argv.slice(2);
if (entries.length === 0 || entries.some((entry) => !/\.[cm]?ts$/.test(entry))) {
  console.error('usage: node ../../scripts/bundle-app.mjs <entry.ts>...   (in the app directory)');
  process.exit(64);
}

const appDir = process.cwd();
const distDir = join(appDir, 'dist');
// esbuild is each building app's own devDependency (pinned there): resolve it from the app.
const esbuildPath = createRequire(join(appDir, 'package.json')).resolve('esbuild');
const esbuild = await import(pathToFileURL(esbuildPath).href);
const posix = (path) => path.split(sep).join('/');

/** src/x/y.ts → dist/x/y.js; anything else keeps its path under dist/. */
function outfileOf(entryPath) {
  const underSrc = relative(join(appDir, 'src'), entryPath);
  const path = underSrc.startsWith('..') ? relative(appDir, entryPath) : underSrc;
  return join(distDir, path.replace(/\.[cm]?ts$/, '.js'));
}

/** Bare imports stay imports, except the workspace's own packages (TypeScript source). */
const externalPackages = {
  name: 'external-packages',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path.startsWith('@multiclaw/') ? undefined : { path: args.path, external: true },
    );
  },
};

/** Every module but the entry sees its source file's URL as import.meta.url (see above). */
const sourceModuleUrls = (entryPath, outDir) => ({
  name: 'source-module-urls',
  setup(build) {
    build.onLoad({ filter: /\.[cm]?ts$/ }, async (args) => {
      if (args.path === entryPath) return undefined;
      const source = await readFile(args.path, 'utf8');
      if (!source.includes('import.meta.url')) return undefined;
      const url = `new URL(${JSON.stringify(posix(relative(outDir, args.path)))}, import.meta.url).href`;
      return { contents: source.replaceAll('import.meta.url', url), loader: 'ts' };
    });
  },
});

await rm(distDir, { recursive: true, force: true });
await Promise.all(
  entries.map(async (entry) => {
    const entryPath = resolve(appDir, entry);
    const outfile = outfileOf(entryPath);
    const outDir = dirname(outfile);
    const result = await esbuild.build({
      entryPoints: [entryPath],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20.19',
      // Class and function names stay as written: error names in logs, constructor checks.
      keepNames: true,
      sourcemap: 'linked',
      sourcesContent: false,
      metafile: true,
      logLevel: 'warning',
      plugins: [externalPackages, sourceModuleUrls(entryPath, outDir)],
    });
    const inputs = Object.keys(result.metafile.inputs).map((input) =>
      posix(relative(outDir, resolve(appDir, input))),
    );
    await writeFile(outfile.replace(/\.js$/, '.inputs.json'), `${JSON.stringify(inputs, null, 1)}\n`);
  }),
);
