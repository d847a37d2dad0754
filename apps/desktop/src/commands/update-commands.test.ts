import { lstat, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { ErrorEnvelope } from '@multiclaw/protocol';
import { startFileServer } from '@multiclaw/test-support/file-server';
import { publicKeyBase64 } from '@multiclaw/updater';
import { generateSecretKey, type MinisignSecretKey } from '@multiclaw/updater/signing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayUpdateFeed, startGatewayUpdateFeed } from '../../../gateway/test/support/update-feed.js';
import { startTestDesktop, type TestDesktop } from '../../test/support/desktop.js';

/**
 * The gateway's signed updates from the desktop: the main window checks and
 * applies through the host against a feed on 127.0.0.1 signed by a key made
 * here; a chat window may not; a tampered release is refused with its reason.
 */
const releaseKey = generateSecretKey();
const strangerKey = generateSecretKey();
let feed: GatewayUpdateFeed;
const publish = (version: string, key: MinisignSecretKey = releaseKey) => feed.publish(version, key);

const desktops: TestDesktop[] = [];
async function desktop(update?: { feed: string; publicKeys: string[] }) {
  const started = await startTestDesktop({
    gateway: false,
    configure: (config) => (update ? { ...config, update: { ...update, channel: 'stable' } } : config),
  });
  desktops.push(started);
  return started;
}

beforeAll(async () => {
  feed = await startGatewayUpdateFeed();
});
afterAll(async () => {
  for (const started of desktops) await started.close();
  await feed.close();
});

describe('gateway updates from the desktop', () => {
  it('says "not configured" and contacts nothing while openclaw.json names no feed', async () => {
    const t = await desktop();
    const before = feed.requests.length;
    expect((await t.call('updates.check')).body).toEqual({ status: 'not-configured' });
    expect((await t.call('updates.apply')).body).toEqual({ status: 'not-configured' });
    expect(feed.requests.length).toBe(before);
  });

  it('shows an available release, installs it on request, then is up to date', async () => {
    const t = await desktop({
      feed: feed.url,
      publicKeys: [publicKeyBase64(releaseKey.publicKey)],
    });
    publish('9.1.0');
    const check = await t.call('updates.check');
    expect(check.status, JSON.stringify(check.body)).toBe(200);
    expect(check.body).toMatchObject({ status: 'available', version: '9.1.0', channel: 'stable' });

    const applied = await t.call('updates.apply');
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
    expect(applied.body).toMatchObject({ status: 'installed', version: '9.1.0' });
    const versions = join(t.openclawDir, 'versions');
    expect(await readlink(join(versions, 'current'))).toBe('9.1.0');
    expect((await t.call('updates.check')).body).toEqual({ status: 'up-to-date', version: '9.1.0' });
  }, 180_000);

  it('refuses a release signed by another key with UPDATE_REFUSED and its reason, installing nothing', async () => {
    const t = await desktop({
      feed: feed.url,
      publicKeys: [publicKeyBase64(releaseKey.publicKey)],
    });
    publish('9.2.0', strangerKey);
    const refused = await t.call('updates.apply');
    expect(refused.status).toBe(422);
    expect((refused.body as ErrorEnvelope).error).toMatchObject({
      code: 'UPDATE_REFUSED',
      details: { reason: 'SIGNATURE_UNKNOWN_KEY' },
    });
    await expect(lstat(join(t.openclawDir, 'versions', 'current'))).rejects.toThrow(/ENOENT/);
  });

  it('answers UPDATE_FEED_UNREACHABLE when nothing listens at the feed', async () => {
    const closed = await startFileServer();
    await closed.close();
    const t = await desktop({
      feed: `${closed.origin}/feed`,
      publicKeys: [publicKeyBase64(releaseKey.publicKey)],
    });
    const answer = await t.call('updates.check');
    expect(answer.status).toBe(502);
    expect((answer.body as ErrorEnvelope).error.code).toBe('UPDATE_FEED_UNREACHABLE');
  });

  it("is the main window's alone: a chat window is denied and nothing is fetched", async () => {
    const t = await desktop({
      feed: feed.url,
      publicKeys: [publicKeyBase64(releaseKey.publicKey)],
    });
    const before = feed.requests.length;
    for (const command of ['updates.check', 'updates.apply']) {
      const denied = await t.call(command, {}, { window: 'chat' });
      expect(denied.status).toBe(403);
      expect((denied.body as ErrorEnvelope).error.code).toBe('DESKTOP_COMMAND_DENIED');
    }
    expect(feed.requests.length).toBe(before);
  });
});
