#!/usr/bin/env node
// `multiclaw-desktop`. Runs the compiled CLI (dist/, `pnpm --filter @multiclaw/desktop build`)
// when it is there and no source it was built from (dist/cli/main.inputs.json) has changed
// since; otherwise (a checkout never built, or sources edited after the build) runs the
// TypeScript source through tsx's loader, so what runs is always what the source says.
// MULTICLAW_DESKTOP_RUN=source or =compiled forces one (tests may pin one).
import { readFileSync, statSync } from 'node:fs';

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

const forced = process.env.MULTICLAW_DESKTOP_RUN;
if (forced !== undefined && forced !== 'source' && forced !== 'compiled') {
  process.stderr.write(`MULTICLAW_DESKTOP_RUN must be "source" or "compiled", not "${forced}"\n`);
  process.exit(64);
}
const runCompiled = forced ? forced === 'compiled' : builtAt !== undefined && sourcesUnchangedSince(builtAt);

if (runCompiled) {
  if (builtAt === undefined) {
    process.stderr.write(
      'MULTICLAW_DESKTOP_RUN=compiled, but there is no build: run "pnpm --filter @multiclaw/desktop build"\n',
    );
    process.exit(64);
  }
  await import(compiled.href);
} else {
  const tsx = await import('tsx/esm/api').catch(() => undefined);
  if (!tsx) {
    process.stderr.write(
      'multiclaw-desktop is not built and tsx is not installed: run "pnpm install", then "pnpm --filter @multiclaw/desktop build"\n',
    );
    process.exit(70);
  }
  tsx.register();
  await import('../src/cli/main.ts');
}
