#!/usr/bin/env node
// `multiclaw-gateway`. Runs the compiled CLI (dist/, `pnpm --filter @multiclaw/gateway build`)
// when it is current, else the TypeScript source through tsx (@multiclaw/runtime/launcher says how).
// MULTICLAW_GATEWAY_RUN=source or =compiled forces one (bench/gateway compares the two).
// An update installed by `multiclaw-gateway update apply` (<state dir>/versions/current, see
// docs/releasing.md) runs instead when it is not older than this copy and nothing is forced.
import { readFileSync, readlinkSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { launch } from '@multiclaw/runtime/launcher';

/** <state dir>/versions/current/multiclaw-gateway.mjs, when there is one at least as new as this copy. */
function installedUpdate() {
  // The state directory as src/config/paths.ts resolves it.
  const stateDir = resolve(
    process.env.OPENCLAW_STATE_DIR || join(process.env.HOME || homedir(), '.openclaw'),
  );
  const current = join(stateDir, 'versions', 'current');
  let version;
  try {
    version = readlinkSync(current);
  } catch {
    return undefined;
  }
  const own = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;
  const numbers = (text) => text.split(/[-+]/)[0].split('.').map(Number);
  const [a, b] = [numbers(version), numbers(own)];
  const older = a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
  const entry = join(current, 'multiclaw-gateway.mjs');
  return older >= 0 && statSync(entry, { throwIfNoEntry: false }) ? pathToFileURL(entry).href : undefined;
}

await launch({
  command: 'multiclaw-gateway',
  packageName: '@multiclaw/gateway',
  runVariable: 'MULTICLAW_GATEWAY_RUN',
  root: new URL('..', import.meta.url),
  loadTsx: () => import('tsx/esm/api').catch(() => undefined),
  installed: installedUpdate,
});
