import { createHash } from 'node:crypto';
import { artifactTrustedComment, manifestTrustedComment, type ReleaseManifest } from '../src/index.js';
import { type MinisignSecretKey, signMinisign } from '../src/signing/index.js';

export const NOW = new Date('2026-12-01T00:00:00.000Z');
export const IN_A_MONTH = new Date('2027-01-01T00:00:00.000Z');

export interface SignedRelease {
  manifest: Buffer;
  manifestSig: string;
  artifact: Buffer;
  artifactSig: string;
}

/** A release as `multiclaw-release manifest` lays it out, with knobs to make it wrong in one way at a time. */
export function signedRelease(
  key: MinisignSecretKey,
  options: {
    version?: string;
    channel?: string;
    product?: string;
    platform?: string;
    expires?: Date;
    artifact?: Buffer;
    url?: string;
    /** Overrides the manifest's trusted comment. */
    comment?: string;
    artifactKey?: MinisignSecretKey;
    artifactComment?: string;
  } = {},
): SignedRelease {
  const { version = '1.3.0', channel = 'stable', product = 'gateway', platform = 'linux-x64' } = options;
  const artifact = options.artifact ?? Buffer.from(`console.log(${JSON.stringify(version)});\n`);
  const body: ReleaseManifest = {
    product,
    version,
    channel,
    artifacts: {
      [platform]: {
        url: options.url ?? `multiclaw-gateway-${version}.mjs`,
        sha256: createHash('sha256').update(artifact).digest('hex'),
        size: artifact.length,
      },
    },
  };
  const manifest = Buffer.from(JSON.stringify(body, null, 2));
  const comment =
    options.comment ??
    manifestTrustedComment({ product, version, channel, expires: options.expires ?? IN_A_MONTH });
  return {
    manifest,
    manifestSig: signMinisign(manifest, key, { trustedComment: comment }),
    artifact,
    artifactSig: signMinisign(artifact, options.artifactKey ?? key, {
      trustedComment: options.artifactComment ?? artifactTrustedComment({ product, version, platform }),
    }),
  };
}
