import { join } from 'node:path';
import { ensurePrivateDir } from '@multiclaw/runtime/atomic-write';
import { acquireFileLock, type FileLock, LockHeldError } from '@multiclaw/runtime/file-lock';
import semver from 'semver';
import { ReleaseNotNewerError, UpdateRefusedError } from './errors.js';
import { artifactUrl, type FeedFetch, fetchCapped, manifestUrl, parseFeedUrl } from './feed.js';
import { installedCopy } from './install/installed-copy.js';
import { versionFloorFile } from './install/version-floor.js';
import { type VerifiedRelease, verifyArtifact, verifyManifest } from './manifest/verify-release.js';
import type { MinisignPublicKey } from './minisign/public-key.js';

const MANIFEST_MAX_BYTES = 64 * 1024;
/** A .minisig is four short lines; its comments are at most 1024 bytes each. */
const SIGNATURE_MAX_BYTES = 4 * 1024;

export interface UpdaterOptions {
  /** The host's egress: the only way the updater reaches the network. */
  fetch: FeedFetch;
  feedUrl: string;
  product: string;
  channel: string;
  /** `${process.platform}-${process.arch}` unless a test says otherwise. */
  platform: string;
  /** The version running now. */
  runningVersion: string;
  /** The pinned release keys: a primary and, during a rotation, a backup. */
  trustedKeys: readonly MinisignPublicKey[];
  /** Where the installed copy and the anti-rollback floor live (e.g. <state dir>/versions). */
  installRoot: string;
  /** The file name the artifact is installed under (what the launcher runs). */
  entryName: string;
  /**
   * Starts the newly installed version and resolves when it runs, rejects when
   * it does not. Runs after the swap; a rejection rolls the swap back.
   */
  startProbe: (entryPath: string, version: string) => Promise<void>;
  now: () => Date;
}

export type UpdateCheck =
  | { status: 'up-to-date'; version: string }
  | { status: 'available'; release: VerifiedRelease };

export type UpdateApplied =
  | { status: 'up-to-date'; version: string }
  | { status: 'installed'; version: string; previous: string };

const floorPath = (root: string) => join(root, 'highest-accepted.json');

/**
 * Fetches and verifies the feed's manifest. Nothing calls this unless the
 * person asked (a CLI command, the desktop's button) or enabled checks.
 */
export async function checkForUpdate(options: UpdaterOptions): Promise<UpdateCheck> {
  const feed = parseFeedUrl(options.feedUrl);
  const url = manifestUrl(feed, options.product, options.channel);
  const bytes = await fetchCapped(options.fetch, url, MANIFEST_MAX_BYTES);
  if (bytes === undefined) throw new UpdateRefusedError('MANIFEST_MISSING', `Nothing at ${url.href}.`);
  const signature = await fetchSignature(options.fetch, url);
  const floor = await versionFloorFile(floorPath(options.installRoot)).read(options.runningVersion);
  try {
    const release = verifyManifest(bytes, signature, { ...options, floor, now: options.now() });
    return { status: 'available', release };
  } catch (error) {
    // The very version accepted last is "up to date"; anything older is a rollback and stays refused.
    if (error instanceof ReleaseNotNewerError && semver.eq(error.offered, floor)) {
      return { status: 'up-to-date', version: floor };
    }
    throw error;
  }
}

/**
 * Check, download, verify, swap, start; a start that fails swaps back.
 * The installed copy is touched only after the artifact verified. One apply
 * at a time per installation (a lock file beside the versions).
 */
export async function applyUpdate(options: UpdaterOptions): Promise<UpdateApplied> {
  await ensurePrivateDir(options.installRoot);
  let lock: FileLock;
  try {
    lock = await acquireFileLock(join(options.installRoot, 'update.lock'), { waitMs: 0 });
  } catch (error) {
    if (error instanceof LockHeldError) throw new UpdateRefusedError('UPDATE_IN_PROGRESS');
    throw error;
  }
  try {
    return await applyLocked(options);
  } finally {
    await lock.release();
  }
}

async function applyLocked(options: UpdaterOptions): Promise<UpdateApplied> {
  const check = await checkForUpdate(options);
  if (check.status === 'up-to-date') return check;
  const { release } = check;
  const feed = parseFeedUrl(options.feedUrl);
  const url = artifactUrl(feed, manifestUrl(feed, options.product, options.channel), release.artifact.url);
  const bytes = await fetchCapped(options.fetch, url, release.artifact.size, 'ARTIFACT_TOO_LARGE');
  if (bytes === undefined) throw new UpdateRefusedError('DOWNLOAD_FAILED', `Nothing at ${url.pathname}.`);
  verifyArtifact(bytes, await fetchSignature(options.fetch, url), release, options.trustedKeys);

  const copy = installedCopy(options.installRoot);
  const previous = (await copy.current()) ?? options.runningVersion;
  const dir = await copy.stage(release.version, { [options.entryName]: bytes });
  await copy.activate(release.version);
  try {
    await options.startProbe(join(dir, options.entryName), release.version);
  } catch (error) {
    await copy.rollBack(release.version);
    throw new UpdateRefusedError('START_FAILED', `${release.version}: ${(error as Error).message}`);
  }
  await versionFloorFile(floorPath(options.installRoot)).raise(release.version);
  await copy.prune();
  return { status: 'installed', version: release.version, previous };
}

async function fetchSignature(get: FeedFetch, of: URL): Promise<string | undefined> {
  const bytes = await fetchCapped(get, new URL(`${of.href}.minisig`), SIGNATURE_MAX_BYTES);
  return bytes === undefined ? undefined : Buffer.from(bytes).toString('utf8');
}
