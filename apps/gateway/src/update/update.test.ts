import { spawn } from 'node:child_process';
import { mkdirSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { publicKeyBase64 } from '@multiclaw/updater';
import { generateSecretKey, type MinisignSecretKey } from '@multiclaw/updater/signing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, cliInProcess, home } from '../../test/support/cli.js';
import { type GatewayUpdateFeed, startGatewayUpdateFeed } from '../../test/support/update-feed.js';
import { resolveGatewayPaths } from '../config/paths.js';
import { gatewayUpdaterOptions } from './gateway-updater.js';

/**
 * `multiclaw-gateway update` end to end: a feed on 127.0.0.1 serving a
 * manifest and artifacts signed by a key made here, the real launcher
 * (bin/multiclaw-gateway.mjs) running what was installed, and a release
 * that fails to start rolled back.
 */
const releaseKey = generateSecretKey();
const strangerKey = generateSecretKey();
let feed: GatewayUpdateFeed;
let feedUrl: string;
const requests = () => feed.requests;

beforeAll(async () => {
  feed = await startGatewayUpdateFeed();
  feedUrl = feed.url;
});
afterAll(() => feed.close());

function publish(version: string, options: { starts?: boolean; key?: MinisignSecretKey } = {}) {
  feed.publish(version, options.key ?? releaseKey, { starts: options.starts ?? true });
}

async function gatewayHome(update?: Record<string, unknown>) {
  const env = await home();
  mkdirSync(env.OPENCLAW_STATE_DIR, { mode: 0o700 });
  const config = {
    gateway: { auth: { token: 'a'.repeat(43) } },
    ...(update ? { update } : {}),
  };
  writeFileSync(join(env.OPENCLAW_STATE_DIR, 'openclaw.json'), JSON.stringify(config), { mode: 0o600 });
  return env;
}

/**
 * The launcher as a person runs it, asynchronously: the feed answers from this
 * very process, so a synchronous spawn would wait on itself. Generous limits, the machine is shared.
 */
function run(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 180_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('multiclaw-gateway update', () => {
  it('applies a signed update from the feed, starts it through the launcher, and rolls back one that fails to start', async () => {
    const env = await gatewayHome({ feed: feedUrl, publicKeys: [publicKeyBase64(releaseKey.publicKey)] });
    publish('0.2.0');
    const check = await run(['update', 'check', '--json'], env);
    expect(check.code, check.stderr).toBe(0);
    expect(JSON.parse(check.stdout)).toMatchObject({
      status: 'available',
      version: '0.2.0',
      channel: 'stable',
    });

    const applied = await run(['update', 'apply'], env);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toContain('installed 0.2.0 (was 0.1.0)');
    const versions = join(env.OPENCLAW_STATE_DIR, 'versions');
    expect(readlinkSync(join(versions, 'current'))).toBe('0.2.0');
    expect(statSync(join(versions, 'highest-accepted.json')).mode & 0o777).toBe(0o600);
    // The launcher now runs the installed version.
    expect((await run(['--version'], env)).stdout.trim()).toBe('0.2.0');
    // MULTICLAW_GATEWAY_RUN forces this checkout's own code.
    expect((await run(['--version'], { ...env, MULTICLAW_GATEWAY_RUN: 'source' })).stdout.trim()).toBe(
      '0.1.0',
    );

    // From here on the launcher would run the installed stand-in, which only knows --version:
    // the update commands run this checkout's CLI (the start probe still goes through current).
    const checkout = { ...env, MULTICLAW_GATEWAY_RUN: 'source' };
    publish('0.3.0', { starts: false });
    const failed = await run(['update', 'apply'], checkout);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('START_FAILED');
    expect(failed.stderr).toContain('cannot find module');
    expect(readlinkSync(join(versions, 'current'))).toBe('0.2.0');
    expect((await run(['--version'], env)).stdout.trim()).toBe('0.2.0');
    expect(() => statSync(join(versions, '0.3.0'))).toThrow(/ENOENT/);

    // The feed replaying the older release is refused; the current one is "up to date".
    publish('0.1.5');
    const replay = await run(['update', 'check'], checkout);
    expect(replay.code).toBe(1);
    expect(replay.stderr).toContain('MANIFEST_NOT_NEWER');
  }, 600_000);

  it('refuses a release signed by another key, installing nothing', async () => {
    const env = await gatewayHome({ feed: feedUrl, publicKeys: [publicKeyBase64(releaseKey.publicKey)] });
    publish('0.2.0', { key: strangerKey });
    const result = await cliInProcess(['update', 'apply'], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('SIGNATURE_UNKNOWN_KEY');
    expect(() => statSync(join(env.OPENCLAW_STATE_DIR, 'versions', 'current'))).toThrow(/ENOENT/);
  });

  it('contacts nothing without an update feed in the config (78), and refuses an insecure feed in the config', async () => {
    const before = requests().length;
    const env = await gatewayHome();
    const result = await cliInProcess(['update', 'check'], env);
    expect(result.code).toBe(78);
    expect(result.stderr).toContain('No update feed is configured');
    expect(requests().length).toBe(before);

    const insecure = await gatewayHome({ feed: 'http://updates.example.com/feed' });
    const refused = await cliInProcess(['update', 'check'], insecure);
    expect(refused.code).toBe(78);
    expect(refused.stderr).toContain('update.feed');
  });

  it('has no pinned release key yet: without update.publicKeys nothing verifies (NO_TRUSTED_KEY)', async () => {
    const env = await gatewayHome({ feed: feedUrl });
    publish('0.2.0');
    const result = await cliInProcess(['update', 'check'], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('NO_TRUSTED_KEY');
  });

  it("reaches the network only through the egress, allowed to the feed's origin alone", async () => {
    const env = await gatewayHome();
    const options = gatewayUpdaterOptions({
      paths: resolveGatewayPaths(env),
      update: { feed: feedUrl, channel: 'stable' },
      env,
      warn: () => undefined,
    });
    await expect(options.fetch('http://127.0.0.1:9/elsewhere')).rejects.toMatchObject({
      code: 'EGRESS_REFUSED',
    });
    const response = await options.fetch(`${feedUrl}/nothing-here`);
    expect(response.status).toBe(404);
  });

  it('update check and apply have --help with the exit codes', async () => {
    for (const action of ['check', 'apply']) {
      const result = await cliInProcess(['update', action, '--help'], await home());
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('Exit codes:');
      expect(result.stdout).toContain('Nothing checks for updates on its own');
    }
  });
});
