// The one launcher behind each app's bin (apps/gateway/bin/multiclaw-gateway.mjs,
// apps/desktop/bin/multiclaw-desktop.mjs). Plain JavaScript with no import but node:fs, since a
// bin cannot load TypeScript before it has chosen to, and it is read at every start.
//
// Runs the compiled CLI (dist/cli/main.js, the app's `build`) when it is there and no source it
// was built from (dist/cli/main.inputs.json, scripts/bundle-app.mjs) has changed since; otherwise
// (a checkout never built, or sources edited after the build) runs the TypeScript source through
// tsx's loader, so what runs is always what the source says. <RUN VARIABLE>=source or =compiled
// forces one.
import { readFileSync, statSync } from 'node:fs';

/** Whether each source file the build lists is older than it (one that is gone, as in an install without sources, is). */
function sourcesUnchangedSince(compiled, time) {
  let inputs;
  try {
    inputs = JSON.parse(readFileSync(new URL('main.inputs.json', compiled), 'utf8'));
  } catch {
    return true; // a build that lists no sources is the only code there is
  }
  return inputs.every(
    (input) => (statSync(new URL(input, compiled), { throwIfNoEntry: false })?.mtimeMs ?? 0) <= time,
  );
}

/**
 * Starts an app's CLI.
 * @param {object} app
 * @param {string} app.command the command's name, e.g. "multiclaw-gateway"
 * @param {string} app.packageName its package, e.g. "@multiclaw/gateway" (named in what to run)
 * @param {string} app.runVariable the variable that forces source or compiled, e.g. "MULTICLAW_GATEWAY_RUN"
 * @param {URL} app.root the app's directory (its bin's `new URL('..', import.meta.url)`)
 * @param {() => Promise<{ register(): unknown } | undefined>} app.loadTsx imports tsx/esm/api from the app
 *   (`() => import('tsx/esm/api').catch(() => undefined)`: resolved from the bin, where tsx is installed)
 * @param {() => string | undefined} [app.installed] when nothing is forced: the URL of another copy to run instead
 */
export async function launch({ command, packageName, runVariable, root, loadTsx, installed }) {
  const compiled = new URL('dist/cli/main.js', root);
  const builtAt = statSync(compiled, { throwIfNoEntry: false })?.mtimeMs;
  const forced = process.env[runVariable];
  if (forced !== undefined && forced !== 'source' && forced !== 'compiled') {
    process.stderr.write(`${runVariable} must be "source" or "compiled", not "${forced}"\n`);
    process.exit(64);
  }
  const other = forced ? undefined : installed?.();
  if (other) {
    await import(other);
    return;
  }
  const runCompiled = forced
    ? forced === 'compiled'
    : builtAt !== undefined && sourcesUnchangedSince(compiled, builtAt);
  if (runCompiled) {
    if (builtAt === undefined) {
      process.stderr.write(
        `${runVariable}=compiled, but there is no build: run "pnpm --filter ${packageName} build"\n`,
      );
      process.exit(64);
    }
    await import(compiled.href);
    return;
  }
  const tsx = await loadTsx();
  if (!tsx) {
    process.stderr.write(
      `${command} is not built and tsx is not installed: run "pnpm install", then "pnpm --filter ${packageName} build"\n`,
    );
    process.exit(70);
  }
  tsx.register();
  await import(new URL('src/cli/main.ts', root).href);
}
