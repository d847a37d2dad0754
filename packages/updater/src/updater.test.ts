import { readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type FeedServer, startFeedServer } from '../test/feed-server.js';
import { tempDir } from '../test/keys.js';
import { refusalOf } from '../test/refusal.js';
import { NOW, type SignedRelease, signedRelease } from '../test/release-fixture.js';
import { isRefusal } from './errors.js';
import { generateSecretKey } from './signing/index.js';
import { applyUpdate, checkForUpdate, type UpdaterOptions } from './updater.js';

/** The whole path against a real HTTP feed on 127.0.0.1: check, download, verify, swap, start, roll back. */
const key = generateSecretKey();
let feed: FeedServer;
let root: string;
let started: string[];

beforeAll(async () => {
  feed = await startFeedServer();
});
afterAll(() => feed.close());
beforeEach(() => {
  feed.files.clear();
  feed.chunked.clear();
  root = join(tempDir('updater-'), 'versions');
  started = [];
});

function publish(release: SignedRelease, version = '1.3.0'): void {
  feed.files.set('/feed/gateway/stable/manifest.json', release.manifest);
  feed.files.set('/feed/gateway/stable/manifest.json.minisig', release.manifestSig);
  feed.files.set(`/feed/gateway/stable/multiclaw-gateway-${version}.mjs`, release.artifact);
  feed.files.set(`/feed/gateway/stable/multiclaw-gateway-${version}.mjs.minisig`, release.artifactSig);
}

function options(overrides: Partial<UpdaterOptions> = {}): UpdaterOptions {
  return {
    fetch: (url, init) => fetch(url, init),
    feedUrl: feed.url,
    product: 'gateway',
    channel: 'stable',
    platform: 'linux-x64',
    runningVersion: '1.2.0',
    trustedKeys: [key.publicKey],
    installRoot: root,
    entryName: 'multiclaw-gateway.mjs',
    startProbe: async (entry, version) => {
      started.push(`${version}:${readFileSync(entry, 'utf8').trim()}`);
    },
    now: () => NOW,
    ...overrides,
  };
}

describe('checkForUpdate / applyUpdate', () => {
  it('installs a newer release, starts it, records it as the floor; the next check is up to date', async () => {
    publish(signedRelease(key));
    expect(await checkForUpdate(options())).toMatchObject({
      status: 'available',
      release: { version: '1.3.0' },
    });
    expect(await applyUpdate(options())).toEqual({
      status: 'installed',
      version: '1.3.0',
      previous: '1.2.0',
    });
    expect(started).toEqual(['1.3.0:console.log("1.3.0");']);
    expect(readlinkSync(join(root, 'current'))).toBe('1.3.0');
    expect(await checkForUpdate(options())).toEqual({ status: 'up-to-date', version: '1.3.0' });
    // The old release served again later is a rollback, refused, whatever version runs.
    publish(signedRelease(key, { version: '1.2.5' }), '1.2.5');
    expect(await refusalOf(checkForUpdate(options()))).toBe('MANIFEST_NOT_NEWER');
  });

  it('rolls back a version that fails to start: current is the previous version again, the floor unchanged', async () => {
    publish(signedRelease(key));
    await applyUpdate(options());
    publish(signedRelease(key, { version: '1.4.0' }), '1.4.0');
    const failing = options({
      startProbe: async () => {
        throw new Error('exited with code 1 before it was ready');
      },
    });
    const error = await applyUpdate(failing).catch((caught: unknown) => caught);
    expect(isRefusal(error, 'START_FAILED')).toBe(true);
    expect((error as Error).message).toContain('exited with code 1');
    expect(readlinkSync(join(root, 'current'))).toBe('1.3.0');
    expect(await checkForUpdate(options())).toMatchObject({
      status: 'available',
      release: { version: '1.4.0' },
    });
  });

  it('runs one apply at a time: a second one while the first is starting the new version is refused', async () => {
    publish(signedRelease(key));
    let finishStart: () => void = () => undefined;
    let probing: () => void = () => undefined;
    const reachedProbe = new Promise<void>((resolve) => {
      probing = resolve;
    });
    const first = applyUpdate(
      options({
        startProbe: () =>
          new Promise<void>((resolve) => {
            finishStart = resolve;
            probing();
          }),
      }),
    );
    await reachedProbe;
    expect(await refusalOf(applyUpdate(options()))).toBe('UPDATE_IN_PROGRESS');
    finishStart();
    expect(await first).toMatchObject({ status: 'installed', version: '1.3.0' });
  });

  it('never touches the installed copy when the artifact fails verification', async () => {
    const release = signedRelease(key);
    publish({ ...release, artifact: Buffer.from(release.artifact.toString().replace('1.3.0', '6.6.6')) });
    expect(await refusalOf(applyUpdate(options()))).toBe('ARTIFACT_HASH_MISMATCH');
    expect(() => readlinkSync(join(root, 'current'))).toThrow(/ENOENT/);
    expect(started).toEqual([]);
  });

  it('stops reading an artifact at the size the manifest states (declared or streamed)', async () => {
    const release = signedRelease(key);
    const bigger = Buffer.concat([release.artifact, Buffer.alloc(1024 * 1024)]);
    publish({ ...release, artifact: bigger });
    expect(await refusalOf(applyUpdate(options()))).toBe('ARTIFACT_TOO_LARGE');
    feed.chunked.add('/feed/gateway/stable/multiclaw-gateway-1.3.0.mjs');
    expect(await refusalOf(applyUpdate(options()))).toBe('ARTIFACT_TOO_LARGE');
  });

  it('refuses a missing manifest, a missing signature, and an artifact URL off the feed', async () => {
    expect(await refusalOf(checkForUpdate(options()))).toBe('MANIFEST_MISSING');
    const release = signedRelease(key);
    publish(release);
    feed.files.delete('/feed/gateway/stable/manifest.json.minisig');
    expect(await refusalOf(checkForUpdate(options()))).toBe('SIGNATURE_MISSING');
    publish(signedRelease(key, { url: 'https://elsewhere.example/multiclaw-gateway-1.3.0.mjs' }));
    expect(await refusalOf(applyUpdate(options()))).toBe('FEED_URL_INSECURE');
    expect(feed.requests.some((path) => path.includes('elsewhere'))).toBe(false);
  });

  it('refuses a plain-http feed that is not on this machine before connecting', async () => {
    const asked: string[] = [];
    const spy = options({
      feedUrl: 'http://updates.example.com/feed',
      fetch: async (url) => {
        asked.push(url);
        return new Response('');
      },
    });
    expect(await refusalOf(checkForUpdate(spy))).toBe('FEED_URL_INSECURE');
    expect(asked).toEqual([]);
  });
});
