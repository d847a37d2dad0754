import { createHash } from 'node:crypto';
import semver from 'semver';
import { ReleaseNotNewerError, UpdateRefusedError } from '../errors.js';
import type { MinisignPublicKey } from '../minisign/public-key.js';
import { verifyMinisign } from '../minisign/verify.js';
import {
  artifactTrustedComment,
  parseManifestTrustedComment,
  type ReleaseArtifact,
  ReleaseManifest,
} from './manifest.js';

export interface ReleaseExpectation {
  product: string;
  channel: string;
  platform: string;
  /** The highest version accepted so far (the installed one at least): a release must be newer. */
  floor: string;
  now: Date;
  trustedKeys: readonly MinisignPublicKey[];
}

export interface VerifiedRelease {
  product: string;
  version: string;
  channel: string;
  expires: Date;
  platform: string;
  artifact: ReleaseArtifact;
  /** The pinned key that signed the manifest. */
  keyIdHex: string;
}

/**
 * Verifies a manifest and its signature against what this installation
 * expects. The signature comes first: nothing in an unverified manifest is
 * read. Then the trusted comment (signed) decides expiry, product and
 * channel, and the body must state the same product, version and channel.
 */
export function verifyManifest(
  bytes: Uint8Array | undefined,
  signatureText: string | undefined,
  expect: ReleaseExpectation,
): VerifiedRelease {
  if (bytes === undefined) throw new UpdateRefusedError('MANIFEST_MISSING');
  const signed = verifyMinisign(bytes, signatureText, expect.trustedKeys);
  const binding = parseManifestTrustedComment(signed.trustedComment);
  if (!binding) {
    throw new UpdateRefusedError('MANIFEST_COMMENT_MISMATCH', `It reads "${signed.trustedComment}".`);
  }
  if (binding.expires.getTime() <= expect.now.getTime()) {
    throw new UpdateRefusedError('MANIFEST_EXPIRED', `It expired at ${binding.expires.toISOString()}.`);
  }
  if (binding.product !== expect.product || binding.channel !== expect.channel) {
    throw new UpdateRefusedError(
      'MANIFEST_WRONG_CHANNEL',
      `It is for ${binding.product} on "${binding.channel}"; this is ${expect.product} on "${expect.channel}".`,
    );
  }
  const manifest = parseManifestBody(bytes);
  if (
    manifest.product !== binding.product ||
    manifest.version !== binding.version ||
    manifest.channel !== binding.channel
  ) {
    throw new UpdateRefusedError('MANIFEST_COMMENT_MISMATCH');
  }
  const artifact = manifest.artifacts[expect.platform];
  if (!artifact) {
    throw new UpdateRefusedError(
      'MANIFEST_NO_PLATFORM',
      `This is ${expect.platform}; it has ${Object.keys(manifest.artifacts).join(', ') || 'none'}.`,
    );
  }
  if (!semver.gt(manifest.version, expect.floor)) {
    throw new ReleaseNotNewerError(manifest.version, expect.floor);
  }
  return {
    product: manifest.product,
    version: manifest.version,
    channel: manifest.channel,
    expires: binding.expires,
    platform: expect.platform,
    artifact,
    keyIdHex: signed.keyIdHex,
  };
}

function parseManifestBody(bytes: Uint8Array): ReleaseManifest {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new UpdateRefusedError('MANIFEST_MALFORMED', 'It is not JSON.');
  }
  const parsed = ReleaseManifest.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UpdateRefusedError(
      'MANIFEST_MALFORMED',
      `${issue?.path.join('.') || '(root)'}: ${issue?.message}`,
    );
  }
  return parsed.data;
}

/**
 * Verifies downloaded artifact bytes: the size and SHA-256 the signed
 * manifest states, then the artifact's own minisign signature, whose trusted
 * comment must name this product, version and platform.
 */
export function verifyArtifact(
  bytes: Uint8Array,
  signatureText: string | undefined,
  release: VerifiedRelease,
  trustedKeys: readonly MinisignPublicKey[],
): void {
  if (bytes.length !== release.artifact.size) {
    throw new UpdateRefusedError(
      'ARTIFACT_SIZE_MISMATCH',
      `Got ${bytes.length} bytes, expected ${release.artifact.size}.`,
    );
  }
  if (createHash('sha256').update(bytes).digest('hex') !== release.artifact.sha256) {
    throw new UpdateRefusedError('ARTIFACT_HASH_MISMATCH');
  }
  const signed = verifyMinisign(bytes, signatureText, trustedKeys);
  const expected = artifactTrustedComment(release);
  if (signed.trustedComment !== expected) {
    throw new UpdateRefusedError('ARTIFACT_COMMENT_MISMATCH', `Expected "${expected}".`);
  }
}
