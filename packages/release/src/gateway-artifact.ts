import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';

/**
 * The gateway as a release artifact: one self-contained ES module (its
 * dependencies inlined, its version fixed at build time) that runs from
 * <state dir>/versions/<version>/multiclaw-gateway.mjs with no node_modules
 * beside it (docs/releasing.md). Unlike the app's own build
 * (scripts/bundle-app.mjs), nothing stays external but Node's built-ins and
 * ws's optional native helpers, which ws does without.
 */
export async function buildGatewayArtifact(options: {
  root: string;
  version: string;
  outfile: string;
}): Promise<void> {
  const gateway = join(options.root, 'apps/gateway');
  await mkdir(dirname(options.outfile), { recursive: true });
  await build({
    absWorkingDir: gateway,
    entryPoints: ['src/cli/main.ts'],
    outfile: options.outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20.19',
    keepNames: true,
    legalComments: 'eof',
    logLevel: 'warning',
    // Bundled CommonJS packages call require(): give the module one.
    banner: {
      js: "import { createRequire as __multiclawRequire } from 'node:module'; const require = __multiclawRequire(import.meta.url);",
    },
    external: ['bufferutil', 'utf-8-validate'],
    plugins: [
      {
        name: 'release-version',
        setup(context) {
          // src/version.ts reads ../package.json at run time; an installed copy has none beside it.
          context.onLoad({ filter: /[\\/]src[\\/]version\.ts$/ }, () => ({
            contents: `export const GATEWAY_VERSION = ${JSON.stringify(options.version)};`,
            loader: 'ts',
          }));
        },
      },
    ],
  });
}
