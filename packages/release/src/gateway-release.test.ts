import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workspaceRoot } from './supply-chain/supply-chain-command.js';

/**
 * A real gateway release, end to end: `multiclaw-release gateway-artifact`
 * builds the self-contained gateway, `keygen` and `manifest` sign it into a
 * feed directory, a static server on 127.0.0.1 serves it, and the gateway's
 * own launcher applies it — then runs the installed copy, which starts and
 * listens with no node_modules beside it.
 */
const root = workspaceRoot(import.meta.dirname);
const RELEASE = join(import.meta.dirname, '../bin/multiclaw-release.mjs');
const GATEWAY = join(root, 'apps/gateway/bin/multiclaw-gateway.mjs');
const dir = mkdtempSync(join(tmpdir(), 'gateway-release-'));
const feedDir = join(dir, 'feed');
const children: ChildProcess[] = [];
let server: Server;
let feedUrl: string;

function run(program: string, args: string[], env: NodeJS.ProcessEnv = process.env) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [program, ...args], { cwd: dir, env, timeout: 300_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

beforeAll(async () => {
  server = createServer((request, response) => {
    try {
      response.writeHead(200).end(readFileSync(join(feedDir, (request.url ?? '').replace(/^\/feed\//, ''))));
    } catch {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  feedUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/feed`;
});
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('a gateway release from build to running installed copy', () => {
  it('builds, signs, serves, applies and starts the real gateway at its new version', async () => {
    const artifact = join(dir, 'multiclaw-gateway-9.0.0.mjs');
    const built = await run(RELEASE, ['gateway-artifact', '--version', '9.0.0', '-o', artifact]);
    expect(built.code, built.stderr).toBe(0);
    expect((await run(RELEASE, ['keygen', '-W', '-p', 'release.pub', '-s', 'release.key'])).code).toBe(0);
    const platform = `${process.platform}-${process.arch}`;
    const expires = new Date(Date.now() + 86_400_000).toISOString();
    const args = [
      'manifest',
      '-s',
      'release.key',
      '--product',
      'gateway',
      '--version',
      '9.0.0',
      '--channel',
      'stable',
    ];
    const signed = await run(RELEASE, [
      ...args,
      '--expires',
      expires,
      '--out',
      feedDir,
      '--artifact',
      `${platform}=${artifact}`,
    ]);
    expect(signed.code, signed.stderr).toBe(0);

    const home = join(dir, 'home');
    const state = join(home, '.openclaw');
    mkdirSync(state, { recursive: true, mode: 0o700 });
    const publicKey = readFileSync(join(dir, 'release.pub'), 'utf8').trim().split('\n')[1];
    const config = {
      gateway: { auth: { token: 'b'.repeat(43) } },
      update: { feed: feedUrl, publicKeys: [publicKey] },
    };
    writeFileSync(join(state, 'openclaw.json'), JSON.stringify(config), { mode: 0o600 });
    const env = { PATH: process.env.PATH ?? '', HOME: home };

    // The checkout's CLI from source: turbo may be rebuilding the gateway's dist/ meanwhile.
    // The start probe and everything after run versions/current, which needs no dist/.
    const applied = await run(GATEWAY, ['update', 'apply'], { ...env, MULTICLAW_GATEWAY_RUN: 'source' });
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toContain('installed 9.0.0');
    expect(readlinkSync(join(state, 'versions', 'current'))).toBe('9.0.0');
    expect((await run(GATEWAY, ['--version'], env)).stdout.trim()).toBe('9.0.0');

    // The installed copy is a whole gateway: it starts and listens.
    const daemon = spawn(process.execPath, [GATEWAY, 'start', '--port', '0'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(daemon);
    let output = '';
    const listening = await new Promise<string>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        output += chunk;
        const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
        if (match?.[1]) resolve(match[1]);
      };
      daemon.stdout.on('data', onData);
      daemon.stderr.on('data', onData);
      daemon.on('exit', (code) => reject(new Error(`exited ${code}: ${output}`)));
    });
    expect(listening).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(output).toContain(join(state, 'openclaw.json'));
    daemon.kill('SIGTERM');
  }, 600_000);
});
