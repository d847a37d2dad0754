import { createHash } from 'node:crypto';
import { artifactTrustedComment, manifestTrustedComment, ReleaseManifest } from '../manifest/manifest.js';
import type { MinisignSecretKey } from './secret-key.js';
import { signMinisign } from './sign.js';

export interface ReleaseToSign {
  product: string;
  version: string;
  channel: string;
  expires: Date;
  /** One entry per platform (`linux-x64`); the same bytes may serve several. */
  artifacts: { platform: string; name: string; data: Buffer }[];
  key: MinisignSecretKey;
}

/**
 * One release as the update feed serves it, as files relative to the feed's
 * root: `<product>/<channel>/manifest.json`, each artifact under its
 * platform's directory, every file with its `.minisig`, carrying the trusted
 * comments the updater demands. What `multiclaw-release manifest` writes to
 * disk, and what tests serve from a local feed.
 */
export function layOutRelease(release: ReleaseToSign): Map<string, Buffer> {
  const { product, version, channel, key } = release;
  const dir = `${product}/${channel}`;
  const files = new Map<string, Buffer>();
  const artifacts: Record<string, { url: string; sha256: string; size: number }> = {};
  for (const { platform, name, data } of release.artifacts) {
    const url = `${platform}/${name}`;
    const trustedComment = artifactTrustedComment({ product, version, platform });
    files.set(`${dir}/${url}`, data);
    files.set(`${dir}/${url}.minisig`, Buffer.from(signMinisign(data, key, { trustedComment })));
    artifacts[platform] = { url, sha256: createHash('sha256').update(data).digest('hex'), size: data.length };
  }
  // Parsed through the updater's own schema: a release the updater would refuse is never laid out.
  const manifest = ReleaseManifest.parse({ product, version, channel, artifacts });
  const body = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
  const trustedComment = manifestTrustedComment({ product, version, channel, expires: release.expires });
  files.set(`${dir}/manifest.json`, body);
  files.set(`${dir}/manifest.json.minisig`, Buffer.from(signMinisign(body, key, { trustedComment })));
  return files;
}
