#!/usr/bin/env node
// The README's first line, for real: runs `scripts/start-all.mjs` (what
// `pnpm start` runs after the build) in a fresh home with no DATABASE_URL, so
// the compiled cloud starts its embedded PostgreSQL and migrates it, and the
// compiled gateway starts beside it. Waits for both to answer, signs a person
// up and in against the real database, then stops the product with Ctrl-C's
// signal and expects both to exit cleanly. Between the two, the person creates a workspace
// and links the gateway to it with `multiclaw-gateway link`; the running gateway goes online. Prints one line; exit 1 with the
// product's output when anything fails. Needs `pnpm build` first.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// Generous: the first start initialises a PostgreSQL cluster, on a loaded 2-core machine.
const READY_WITHIN_MS = 240_000;
const STOP_WITHIN_MS = 90_000;

const freePort = () =>
  new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });

const home = mkdtempSync(join(tmpdir(), 'mc-smoke-start-'));
const cloudPort = await freePort();
const gatewayPort = await freePort();
const desktopPort = await freePort();
const gatewayDir = join(home, '.openclaw');
mkdirSync(gatewayDir, { mode: 0o700 });
writeFileSync(
  join(gatewayDir, 'openclaw.json'),
  JSON.stringify({ gateway: { port: gatewayPort, auth: { token: randomBytes(32).toString('base64url') } } }),
  { mode: 0o600 },
);

const env = {
  ...process.env,
  HOME: home,
  PORT: String(cloudPort),
  MULTICLAW_DESKTOP_PORT: String(desktopPort),
  NODE_ENV: 'development',
};
for (const name of [
  'DISPLAY',
  'WAYLAND_DISPLAY',
  'MULTICLAW_DESKTOP_STATE_DIR',
  'DATABASE_URL',
  'MULTICLAW_CLOUD_STATE_DIR',
  'OPENCLAW_STATE_DIR',
  'OPENCLAW_CONFIG_PATH',
]) {
  delete env[name];
}
const product = spawn(process.execPath, [join(root, 'scripts/start-all.mjs')], {
  cwd: root,
  env,
  stdio: ['ignore', 'pipe', 'pipe'],
});
let output = '';
product.stdout.on('data', (chunk) => (output += chunk));
product.stderr.on('data', (chunk) => (output += chunk));
const exited = new Promise((resolve) => product.on('exit', (code, signal) => resolve(signal ?? code)));

function fail(reason) {
  process.stderr.write(`smoke-start: ${reason}\n--- output of pnpm start ---\n${output.slice(-8000)}\n`);
  if (product.exitCode === null) product.kill('SIGKILL');
  rmSync(home, { recursive: true, force: true });
  process.exit(1);
}

async function answers(url, host) {
  try {
    const response = await fetch(url, { headers: { host }, signal: AbortSignal.timeout(5_000) });
    return response.status === 200;
  } catch {
    return false;
  }
}

const cloud = `http://127.0.0.1:${cloudPort}`;
const deadline = Date.now() + READY_WITHIN_MS;
let ready = false;
while (!ready && Date.now() < deadline && product.exitCode === null) {
  ready =
    (await answers(`${cloud}/readyz`, `127.0.0.1:${cloudPort}`)) &&
    (await answers(`http://127.0.0.1:${gatewayPort}/healthz`, `127.0.0.1:${gatewayPort}`));
  if (!ready) await new Promise((resolve) => setTimeout(resolve, 500));
}
// The desktop prints its window's URL (there is no display to open it on), secret in the fragment.
const WINDOW_URL = new RegExp(
  `^\\[desktop\\] (http://127\\.0\\.0\\.1:${desktopPort}/)#secret=([A-Za-z0-9_-]{43})$`,
  'm',
);
while (ready && !WINDOW_URL.test(output) && Date.now() < deadline && product.exitCode === null)
  await new Promise((resolve) => setTimeout(resolve, 500));
const readyAfterS = Math.round((Date.now() - (deadline - READY_WITHIN_MS)) / 1000);
if (!ready) fail(product.exitCode === null ? `not ready within ${READY_WITHIN_MS / 1000} s` : 'it exited');
const [, desktop, windowSecret] = WINDOW_URL.exec(output) ?? [];
if (!desktop) fail('the desktop printed no window URL');
const page = await fetch(desktop);
const html = await page.text();
if (page.status !== 200 || !/<script type="module"[^>]* src="\/assets\//.test(html))
  fail(`the desktop does not serve the built UI at ${desktop} (${page.status})`);
/** A command as the main window calls it, with its secret. */
const desktopCommand = async (name) => {
  const answer = await fetch(`${desktop}ipc/${name}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-multiclaw-secret': windowSecret },
    body: '{}',
  });
  return answer.json();
};

const person = { email: `smoke-${Date.now()}@example.com`, password: 'correct horse battery staple 42' };
const post = (path, body) =>
  fetch(`${cloud}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
const registered = await post('/v1/auth/register', person);
if (registered.status !== 201) fail(`register answered ${registered.status}: ${await registered.text()}`);
const signedIn = await post('/v1/auth/login', person);
if (signedIn.status !== 200) fail(`login answered ${signedIn.status}: ${await signedIn.text()}`);

// The link, as a person makes it: a workspace, a one-time code, `multiclaw-gateway link`.
const { accessToken } = await signedIn.json();
const authed = (path, body) =>
  fetch(`${cloud}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${accessToken}` },
    body: JSON.stringify(body),
  });
const workspace = await authed('/v1/workspaces', { name: 'Smoke' });
if (workspace.status !== 201) fail(`creating a workspace answered ${workspace.status}`);
const { id: workspaceId } = await workspace.json();
const enrollment = await authed(`/v1/workspaces/${workspaceId}/gateway-enrollments`, {});
if (enrollment.status !== 201) fail(`creating an enrollment code answered ${enrollment.status}`);
const { code: enrollmentCode } = await enrollment.json();
const gatewayCli = (...args) =>
  new Promise((resolve) => {
    const cli = spawn(process.execPath, [join(root, 'apps/gateway/bin/multiclaw-gateway.mjs'), ...args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let printed = '';
    cli.stdout.on('data', (chunk) => (printed += chunk));
    cli.stderr.on('data', (chunk) => (printed += chunk));
    cli.on('exit', (exitCode) => resolve({ exitCode, printed }));
  });
const linked = await gatewayCli('link', '--cloud', cloud, '--code', enrollmentCode, '--name', 'smoke');
if (linked.exitCode !== 0) fail(`link exited ${linked.exitCode}: ${linked.printed}`);
let linkState;
for (const until = Date.now() + 60_000; Date.now() < until; ) {
  const status = await gatewayCli('status', '--json');
  // `status --json` carries {"link": {"state", …}} (DESIGN §7).
  linkState = JSON.parse(status.printed || '{}').link?.state;
  if (linkState === 'online') break;
  await new Promise((resolve) => setTimeout(resolve, 500));
}
if (linkState !== 'online')
  fail(`the running gateway's link is ${linkState}, not online, a minute after linking`);
let seenByDesktop;
for (const until = Date.now() + 30_000; Date.now() < until; ) {
  seenByDesktop = await desktopCommand('gateway.status');
  if (seenByDesktop.state === 'running' && seenByDesktop.link?.state === 'online') break;
  await new Promise((resolve) => setTimeout(resolve, 500));
}
if (seenByDesktop?.link?.state !== 'online')
  fail(`the desktop sees the gateway as ${JSON.stringify(seenByDesktop)}, not running and linked`);

const stopStarted = Date.now();
product.kill('SIGINT');
const code = await Promise.race([
  exited,
  new Promise((resolve) => setTimeout(() => resolve('timeout'), STOP_WITHIN_MS).unref()),
]);
if (code !== 0) fail(`stopping ended with ${code}`);
for (const name of ['cloud', 'gateway', 'desktop']) {
  if (!output.includes(`[${name}] exited with 0`)) fail(`the ${name} did not exit with 0`);
}
rmSync(home, { recursive: true, force: true });
process.stdout.write(
  `pnpm start: cloud (embedded PostgreSQL), gateway and desktop answered after ${readyAfterS} s, sign-up, sign-in and link worked (the desktop sees the gateway online), all three stopped cleanly in ${Math.round((Date.now() - stopStarted) / 1000)} s\n`,
);
