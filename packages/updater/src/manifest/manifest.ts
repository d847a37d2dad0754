import { z } from 'zod';

/**
 * A release manifest: JSON, signed with minisign like any artifact. The
 * trusted comment (signed by the global signature) binds the product,
 * version, channel and expiry:
 *   multiclaw-release product=gateway version=1.2.3 channel=stable expires=2027-01-31T00:00:00.000Z
 * An artifact's own signature carries
 *   multiclaw-release artifact product=gateway version=1.2.3 platform=linux-x64
 * `multiclaw-release manifest` writes both strings (docs/releasing.md).
 */
export const Semver = z
  .string()
  .regex(/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/, 'a version such as 1.2.3 or 1.3.0-rc.1');

export const Channel = z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'a channel name such as "stable"');
export const Product = z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'a product name such as "gateway"');
/** Node's `${process.platform}-${process.arch}`, e.g. linux-x64, darwin-arm64, win32-x64. */
export const Platform = z.string().regex(/^[a-z0-9]+-[a-z0-9]+$/, 'a platform such as "linux-x64"');

export const ReleaseArtifact = z.strictObject({
  url: z.string().min(1).max(2048),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, '64 lower-case hex digits'),
  size: z
    .number()
    .int()
    .positive()
    .max(2 ** 31),
});
export type ReleaseArtifact = z.infer<typeof ReleaseArtifact>;

export const ReleaseManifest = z.strictObject({
  product: Product,
  version: Semver,
  channel: Channel,
  artifacts: z.record(Platform, ReleaseArtifact),
});
export type ReleaseManifest = z.infer<typeof ReleaseManifest>;

export interface ManifestBinding {
  product: string;
  version: string;
  channel: string;
  expires: Date;
}

const PREFIX = 'multiclaw-release';

export function manifestTrustedComment(binding: ManifestBinding): string {
  const { product, version, channel, expires } = binding;
  return `${PREFIX} product=${product} version=${version} channel=${channel} expires=${expires.toISOString()}`;
}

export function artifactTrustedComment(artifact: {
  product: string;
  version: string;
  platform: string;
}): string {
  return `${PREFIX} artifact product=${artifact.product} version=${artifact.version} platform=${artifact.platform}`;
}

/** Reads a manifest's trusted comment back; undefined when it is not exactly the shape written above. */
export function parseManifestTrustedComment(comment: string): ManifestBinding | undefined {
  const match =
    /^multiclaw-release product=([a-z][a-z0-9-]*) version=(\S+) channel=([a-z][a-z0-9-]*) expires=(\S+)$/.exec(
      comment,
    );
  if (!match) return undefined;
  const [, product = '', version = '', channel = '', expiresText = ''] = match;
  const expires = new Date(expiresText);
  if (Number.isNaN(expires.getTime()) || expires.toISOString() !== expiresText) return undefined;
  return { product, version, channel, expires };
}
