#!/usr/bin/env node
// `multiclaw-gateway`. Runs the compiled CLI (dist/, `pnpm --filter @multiclaw/gateway build`)
// when it is there and no source it was built from (dist/cli/main.inputs.json) has changed
// since; otherwise (a checkout never built, or sources edited after the build) runs the
// TypeScript source through tsx's loader, so what runs is always what the source says.
// MULTICLAW_GATEWAY_RUN=source or =compiled forces one (bench/gateway compares the two).
// An update installed by `multiclaw-gateway update apply` (<state dir>/versions/current, see
// docs/releasing.md) runs instead when it is not older than this copy and nothing is forced.
import { readFileSync, readlinkSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const compiled = new URL('../dist/cli/main.js', import.meta.url);
const builtAt = statSync(compiled, { throwIfNoEntry: false })?.mtimeMs;

/** Whether each source file the build lists is older than it (one that is gone, as in an install without sources, is). */
function sourcesUnchangedSince(time) {
  let inputs;
  try {
    inputs = JSON.parse(readFileSync(new URL('../dist/cli/main.inputs.json', import.meta.url), 'utf8'));
  } catch {
    return true; // a build that lists no sources is the only code there is
  }
  return inputs.every(
    (input) => (statSync(new URL(input, compiled), { throwIfNoEntry: false })?.mtimeMs ?? 0) <= time,
  );
}

const forced = process.env.MULTICLAW_GATEWAY_RUN;
if (forced !== undefined && forced !== 'source' && forced !== 'compiled') {
  process.stderr.write(`MULTICLAW_GATEWAY_RUN must be "source" or "compiled", not "${forced}"\n`);
  process.exit(64);
}
const runCompiled = forced ? forced === 'compiled' : builtAt !== undefined && sourcesUnchangedSince(builtAt);

const installed = forced ? undefined : installedUpdate();

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

if (installed) {
  await import(installed);
} else if (runCompiled) {
  if (builtAt === undefined) {
    process.stderr.write(
      'MULTICLAW_GATEWAY_RUN=compiled, but there is no build: run "pnpm --filter @multiclaw/gateway build"\n',
    );
    process.exit(64);
  }
  await import(compiled.href);
} else {
  const tsx = await import('tsx/esm/api').catch(() => undefined);
  if (!tsx) {
    process.stderr.write(
      'multiclaw-gateway is not built and tsx is not installed: run "pnpm install", then "pnpm --filter @multiclaw/gateway build"\n',
    );
    process.exit(70);
  }
  tsx.register();
  await import('../src/cli/main.ts');
}
