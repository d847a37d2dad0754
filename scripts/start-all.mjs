#!/usr/bin/env node
// `pnpm start`: the whole product on its embedded defaults — MultiClaw Cloud
// (127.0.0.1:8080, embedded PostgreSQL unless DATABASE_URL is set), the local
// gateway (127.0.0.1:18789, state in ~/.openclaw) and the desktop app (its host on
// 127.0.0.1:18790; it opens the app window where a display and a browser exist, else
// prints the window's URL), all compiled (`pnpm start` builds them first). Each line of
// output is prefixed with its component; Ctrl-C stops all three; if one stops, so do
// the others.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const components = [
  { name: 'cloud', cwd: join(root, 'apps/cloud'), args: ['dist/server.js'] },
  { name: 'gateway', cwd: join(root, 'apps/gateway'), args: ['bin/multiclaw-gateway.mjs', 'start'] },
  { name: 'desktop', cwd: join(root, 'apps/desktop'), args: ['bin/multiclaw-desktop.mjs', 'start'] },
];

let stopping = false;
let exitCode = 0;
const running = components.map(({ name, cwd, args }) => {
  const child = spawn(process.execPath, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => process.stdout.write(`[${name}] ${line}\n`));
  }
  const exited = new Promise((resolve) =>
    child.on('exit', (code, signal) => {
      process.stdout.write(`[${name}] exited with ${signal ?? code}\n`);
      if (!stopping) {
        exitCode = code || 1;
        stop('SIGTERM');
      }
      resolve(code);
    }),
  );
  return { child, exited };
});

function stop(signal) {
  stopping = true;
  for (const { child } of running) if (child.exitCode === null) child.kill(signal);
}

process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
await Promise.all(running.map(({ exited }) => exited));
process.exit(exitCode);
