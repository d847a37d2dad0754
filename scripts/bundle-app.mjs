#!/usr/bin/env node
/**
 * An app's production build: `node ../../scripts/bundle-app.mjs [--inline-dependencies] <entry.ts>...`,
 * run in the app's directory by its `build` script. Each entry becomes one ES module under dist/
 * (src/server.ts → dist/server.js, scripts/db-migrate.ts → dist/scripts/db-migrate.js) that
 * inlines the app's own modules and the workspace packages it imports (@multiclaw/*) and
 * imports every other package from node_modules at run time, so `node dist/…` needs the
 * app's production dependencies and nothing else.
 *
 * --inline-dependencies (the gateway, whose cold start is measured against a bare node:http
 * server, bench/gateway): the packages from node_modules are inlined too, as in the release
 * artifact (packages/release/src/gateway-artifact.ts). Node then reads, resolves and compiles
 * one file instead of ~300 (fastify alone is ~90 modules, zod's ESM build ~130, ajv ~85),
 * which halves the start. Optional native helpers that a package does without stay imports.
 * Such a bundle is minified (whitespace and syntax; names are kept, and the linked source
 * map gives file and line under `node --enable-source-maps`), since its compile time and its
 * resident memory grow with its size; and zod's error-message locales are reduced to English,
 * the only one the apps configure (zod builds every other one into the bundle otherwise: a
 * third of zod's size); and @multiclaw/protocol's modules that the app imports nothing from
 * are left out (their schemas would be built at start for nothing).
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
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';

const inlineDependencies = process.argv[2] === '--inline-dependencies';
const entries = process.argv.slice(inlineDependencies ? 3 : 2);
if (entries.length === 0 || entries.some((entry) => !/\.[cm]?ts$/.test(entry))) {
  console.error(
    'usage: node ../../scripts/bundle-app.mjs [--inline-dependencies] <entry.ts>...   (in the app directory)',
  );
  process.exit(64);
}

const appDir = process.cwd();
const distDir = join(appDir, 'dist');
// esbuild is each building app's own devDependency (pinned there): resolve it from the app.
const esbuildPath = createRequire(join(appDir, 'package.json')).resolve('esbuild');
const esbuild = await import(pathToFileURL(esbuildPath).href);
const posix = (path) => path.split(sep).join('/');
/** The nearest directory up from `dir` that holds pnpm-workspace.yaml. */
const workspaceRoot = (dir) =>
  existsSync(join(dir, 'pnpm-workspace.yaml')) || dirname(dir) === dir ? dir : workspaceRoot(dirname(dir));

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

/** Packages that load without these native helpers (ws) stay imports when dependencies are inlined. */
const OPTIONAL_NATIVE = ['bufferutil', 'utf-8-validate'];

/** zod's locales index, reduced to the English messages that zod itself configures at import. */
const englishZodLocales = {
  name: 'english-zod-locales',
  setup(build) {
    build.onLoad({ filter: /[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/ }, () => ({
      contents: "export { default as en } from './en.js';",
      loader: 'js',
    }));
  },
};

/**
 * @multiclaw/protocol's modules only define schemas and types: esbuild may leave out those
 * a bundle imports nothing from (the gateway does not build the cloud's auth, vault or
 * workspace schemas at start). Its index re-exports every module, so without this each is kept.
 * A dynamic import() of app code defeats it: esbuild then wraps what that code imports, the
 * protocol's index included, in lazy initialisers that build every module at once (measured:
 * ~90 ms of the gateway's start). The gateway's bundle has no dynamic import for that reason.
 */
const protocolWithoutSideEffects = {
  name: 'protocol-without-side-effects',
  setup(build) {
    build.onResolve({ filter: /^\.\.?\// }, async (args) => {
      if (!posix(args.importer).includes('/packages/protocol/src/') || args.pluginData?.resolved)
        return undefined;
      const result = await build.resolve(args.path, {
        kind: args.kind,
        importer: args.importer,
        resolveDir: args.resolveDir,
        pluginData: { resolved: true },
      });
      return result.errors.length > 0 ? undefined : { path: result.path, sideEffects: false };
    });
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
      ...(inlineDependencies && {
        minifySyntax: true,
        minifyWhitespace: true,
        external: OPTIONAL_NATIVE,
        // Inlined CommonJS packages call require() (for Node's built-ins): give the module one.
        banner: {
          js: "import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);",
        },
      }),
      sourcemap: 'linked',
      sourcesContent: false,
      metafile: true,
      logLevel: 'warning',
      plugins: inlineDependencies
        ? [englishZodLocales, protocolWithoutSideEffects, sourceModuleUrls(entryPath, outDir)]
        : [externalPackages, sourceModuleUrls(entryPath, outDir)],
    });
    // The launcher stats each input: for inlined packages, the lockfile stands for their versions.
    const inputs = Object.keys(result.metafile.inputs)
      .filter((input) => !input.includes('node_modules/'))
      .map((input) => posix(relative(outDir, resolve(appDir, input))));
    if (inlineDependencies)
      inputs.push(posix(relative(outDir, join(workspaceRoot(appDir), 'pnpm-lock.yaml'))));
    await writeFile(outfile.replace(/\.js$/, '.inputs.json'), `${JSON.stringify(inputs, null, 1)}\n`);
  }),
);
