/**
 * Builds the unpacked extension into dist/ and the store zip into release/.
 * esbuild (already the repository's bundler, pinned) rather than Vite: an
 * MV3 extension is three separate bundles with different formats — the
 * content script a classic script (IIFE: content scripts cannot be modules),
 * the service worker and the popup ES modules — and no dev server or HTML
 * pipeline is wanted. Nothing is minified, so a reviewer reads what runs.
 */
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { zipSync } from 'fflate';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'));

await rm(dist, { recursive: true, force: true });
await mkdir(dist, { recursive: true });

const common = {
  bundle: true,
  target: 'chrome120',
  legalComments: 'none',
  logLevel: 'warning',
  charset: 'utf8',
};
await build({
  ...common,
  entryPoints: [join(root, 'src/content/content-script.ts')],
  outfile: join(dist, 'content-script.js'),
  format: 'iife',
});
await build({
  ...common,
  entryPoints: [join(root, 'src/background/service-worker.ts')],
  outfile: join(dist, 'service-worker.js'),
  format: 'esm',
});
await build({
  ...common,
  entryPoints: [join(root, 'src/popup/popup.ts')],
  outfile: join(dist, 'popup.js'),
  format: 'esm',
});
await cp(join(root, 'src/popup/popup.html'), join(dist, 'popup.html'));
await cp(join(root, 'src/popup/popup.css'), join(dist, 'popup.css'));

// The manifest's version is the package's: one number to bump.
const manifest = JSON.parse(await readFile(join(root, 'manifest.json'), 'utf8'));
manifest.version = pkg.version;
await writeFile(join(dist, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);

const files = {};
for (const name of [
  'manifest.json',
  'service-worker.js',
  'content-script.js',
  'popup.js',
  'popup.html',
  'popup.css',
])
  files[name] = new Uint8Array(await readFile(join(dist, name)));
const zipPath = join(root, 'release', `multiclaw-extension-${pkg.version}.zip`);
await mkdir(dirname(zipPath), { recursive: true });
// A fixed timestamp: the same sources give the same zip.
await writeFile(zipPath, zipSync(files, { mtime: new Date('2020-01-01T00:00:00Z') }));
process.stdout.write(
  `unpacked: ${relative(process.cwd(), dist) || '.'}\nzip: ${relative(process.cwd(), zipPath)}\n`,
);
// `pnpm --filter @multiclaw/extension start`: an extension does not run on its own; say how to load it.
if (process.argv.includes('--print-load-steps'))
  process.stdout.write(
    `Load it: chrome://extensions → Developer mode → Load unpacked → ${dist}\nPair it: multiclaw-gateway extension pair, then type the code into the popup.\n`,
  );
