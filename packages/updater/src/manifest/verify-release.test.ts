import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { minisignKeyPair, tempDir } from '../../test/keys.js';
import { minisignOk } from '../../test/minisign-peer.js';
import { refusal } from '../../test/refusal.js';
import { IN_A_MONTH, NOW, type SignedRelease, signedRelease } from '../../test/release-fixture.js';
import { generateSecretKey, signMinisign } from '../signing/index.js';
import { type ManifestBinding, manifestTrustedComment } from './manifest.js';
import { type ReleaseExpectation, verifyArtifact, verifyManifest } from './verify-release.js';

const key = generateSecretKey();
const otherKey = generateSecretKey();
const expect_: ReleaseExpectation = {
  product: 'gateway',
  channel: 'stable',
  platform: 'linux-x64',
  floor: '1.2.0',
  now: NOW,
  trustedKeys: [key.publicKey],
};

describe('verifyManifest', () => {
  it('accepts a signed, current, newer manifest for this product, channel and platform', () => {
    const release = signedRelease(key);
    const verified = verifyManifest(release.manifest, release.manifestSig, expect_);
    expect(verified).toMatchObject({
      version: '1.3.0',
      channel: 'stable',
      platform: 'linux-x64',
      expires: IN_A_MONTH,
    });
    expect(verified.keyIdHex).toBe(key.publicKey.keyIdHex);
  });

  it('refuses a missing manifest and an unsigned one', () => {
    const release = signedRelease(key);
    expect(refusal(() => verifyManifest(undefined, release.manifestSig, expect_))).toBe('MANIFEST_MISSING');
    expect(refusal(() => verifyManifest(release.manifest, undefined, expect_))).toBe('SIGNATURE_MISSING');
  });

  it('refuses a manifest signed by another key', () => {
    const release = signedRelease(otherKey);
    expect(refusal(() => verifyManifest(release.manifest, release.manifestSig, expect_))).toBe(
      'SIGNATURE_UNKNOWN_KEY',
    );
  });

  it('refuses a tampered manifest: a changed URL, hash or version in the body', () => {
    const release = signedRelease(key);
    for (const [from, to] of [
      ['multiclaw-gateway-1.3.0.mjs', 'multiclaw-gateway-1.3.1.mjs'],
      ['"version": "1.3.0"', '"version": "1.4.0"'],
      ['"size": ', '"size": 1'],
    ] as const) {
      const tampered = Buffer.from(release.manifest.toString().replace(from, to));
      expect(tampered.equals(release.manifest)).toBe(false);
      expect(refusal(() => verifyManifest(tampered, release.manifestSig, expect_))).toBe('SIGNATURE_INVALID');
    }
  });

  it('refuses an edited trusted comment (a later expiry pasted in)', () => {
    const release = signedRelease(key, { expires: new Date('2026-11-30T00:00:00.000Z') });
    const edited = release.manifestSig.replace('expires=2026-11-30', 'expires=2099-11-30');
    expect(refusal(() => verifyManifest(release.manifest, edited, expect_))).toBe('TRUSTED_COMMENT_INVALID');
  });

  it('refuses an expired manifest, and one expiring this very instant', () => {
    const expired = signedRelease(key, { expires: new Date('2026-11-30T23:59:59.000Z') });
    expect(refusal(() => verifyManifest(expired.manifest, expired.manifestSig, expect_))).toBe(
      'MANIFEST_EXPIRED',
    );
    const now = signedRelease(key, { expires: NOW });
    expect(refusal(() => verifyManifest(now.manifest, now.manifestSig, expect_))).toBe('MANIFEST_EXPIRED');
  });

  it('refuses another channel and another product', () => {
    const beta = signedRelease(key, { channel: 'beta' });
    expect(refusal(() => verifyManifest(beta.manifest, beta.manifestSig, expect_))).toBe(
      'MANIFEST_WRONG_CHANNEL',
    );
    const desktop = signedRelease(key, { product: 'desktop' });
    expect(refusal(() => verifyManifest(desktop.manifest, desktop.manifestSig, expect_))).toBe(
      'MANIFEST_WRONG_CHANNEL',
    );
  });

  it('refuses a release with no artifact for this platform', () => {
    const mac = signedRelease(key, { platform: 'darwin-arm64' });
    expect(refusal(() => verifyManifest(mac.manifest, mac.manifestSig, expect_))).toBe(
      'MANIFEST_NO_PLATFORM',
    );
  });

  it('refuses a downgrade and the same version again (anti-rollback), accepts the next patch', () => {
    const older = signedRelease(key, { version: '1.1.9' });
    expect(refusal(() => verifyManifest(older.manifest, older.manifestSig, expect_))).toBe(
      'MANIFEST_NOT_NEWER',
    );
    const same = signedRelease(key, { version: '1.2.0' });
    expect(refusal(() => verifyManifest(same.manifest, same.manifestSig, expect_))).toBe(
      'MANIFEST_NOT_NEWER',
    );
    const prerelease = signedRelease(key, { version: '1.2.0-rc.9' });
    expect(refusal(() => verifyManifest(prerelease.manifest, prerelease.manifestSig, expect_))).toBe(
      'MANIFEST_NOT_NEWER',
    );
    const next = signedRelease(key, { version: '1.2.1' });
    expect(verifyManifest(next.manifest, next.manifestSig, expect_).version).toBe('1.2.1');
  });

  it('refuses a trusted comment that does not bind the body: another version, or not our format', () => {
    const lying = signedRelease(key, {
      comment: manifestTrustedComment({
        product: 'gateway',
        version: '9.0.0',
        channel: 'stable',
        expires: IN_A_MONTH,
      }),
    });
    expect(refusal(() => verifyManifest(lying.manifest, lying.manifestSig, expect_))).toBe(
      'MANIFEST_COMMENT_MISMATCH',
    );
    const bare = signedRelease(key, { comment: 'timestamp:1796082337\tfile:manifest.json\thashed' });
    expect(refusal(() => verifyManifest(bare.manifest, bare.manifestSig, expect_))).toBe(
      'MANIFEST_COMMENT_MISMATCH',
    );
  });

  it('refuses a signed body that is not a manifest', () => {
    const body = Buffer.from('{"version": "1.3.0", "product": "gateway", "channel": "stable"}');
    const comment = manifestTrustedComment({
      product: 'gateway',
      version: '1.3.0',
      channel: 'stable',
      expires: IN_A_MONTH,
    });
    const sig = signMinisign(body, key, { trustedComment: comment });
    expect(refusal(() => verifyManifest(body, sig, expect_))).toBe('MANIFEST_MALFORMED');
  });

  describe('manifests signed by Debian minisign -S', () => {
    const dir = tempDir('manifest-minisign-');
    const pair = minisignKeyPair(dir, 'release');
    const trusting = { ...expect_, trustedKeys: [pair.publicKey] };

    /** Signs the body of a release of ours with minisign, with the trusted comment given. */
    function minisignManifest(release: SignedRelease, binding: Partial<ManifestBinding> = {}): string {
      writeFileSync(join(dir, 'manifest.json'), release.manifest);
      const body = JSON.parse(release.manifest.toString()) as ManifestBinding;
      const comment = manifestTrustedComment({ ...body, expires: IN_A_MONTH, ...binding });
      minisignOk(['-S', '-s', pair.key, '-m', 'manifest.json', '-t', comment], { cwd: dir });
      return readFileSync(join(dir, 'manifest.json.minisig'), 'utf8');
    }

    it('accepts a current, newer one', () => {
      const release = signedRelease(key);
      expect(verifyManifest(release.manifest, minisignManifest(release), trusting).version).toBe('1.3.0');
    });

    it('refuses an expired, a downgraded and a wrong-channel one, each for its reason', () => {
      const current = signedRelease(key);
      const expired = minisignManifest(current, { expires: new Date('2026-11-01T00:00:00.000Z') });
      expect(refusal(() => verifyManifest(current.manifest, expired, trusting))).toBe('MANIFEST_EXPIRED');
      const older = signedRelease(key, { version: '1.1.0' });
      expect(refusal(() => verifyManifest(older.manifest, minisignManifest(older), trusting))).toBe(
        'MANIFEST_NOT_NEWER',
      );
      const beta = signedRelease(key, { channel: 'beta' });
      expect(refusal(() => verifyManifest(beta.manifest, minisignManifest(beta), trusting))).toBe(
        'MANIFEST_WRONG_CHANNEL',
      );
    });

    it('refuses a legacy (-l) signature of a valid manifest', () => {
      const release = signedRelease(key);
      writeFileSync(join(dir, 'manifest.json'), release.manifest);
      const comment = manifestTrustedComment({
        product: 'gateway',
        version: '1.3.0',
        channel: 'stable',
        expires: IN_A_MONTH,
      });
      minisignOk(['-S', '-l', '-s', pair.key, '-m', 'manifest.json', '-t', comment], { cwd: dir });
      const legacy = readFileSync(join(dir, 'manifest.json.minisig'), 'utf8');
      expect(refusal(() => verifyManifest(release.manifest, legacy, trusting))).toBe('SIGNATURE_LEGACY');
    });
  });
});

describe('verifyArtifact', () => {
  const release = signedRelease(key);
  const verified = verifyManifest(release.manifest, release.manifestSig, expect_);

  it('accepts the artifact the manifest names, signed for this product, version and platform', () => {
    expect(() =>
      verifyArtifact(release.artifact, release.artifactSig, verified, [key.publicKey]),
    ).not.toThrow();
  });

  it('refuses a different size, a different hash, a missing or foreign signature, another platform', () => {
    const longer = Buffer.concat([release.artifact, Buffer.from(' ')]);
    expect(refusal(() => verifyArtifact(longer, release.artifactSig, verified, [key.publicKey]))).toBe(
      'ARTIFACT_SIZE_MISMATCH',
    );
    const flipped = Buffer.from(release.artifact);
    flipped[3] = (flipped[3] ?? 0) ^ 1;
    expect(refusal(() => verifyArtifact(flipped, release.artifactSig, verified, [key.publicKey]))).toBe(
      'ARTIFACT_HASH_MISMATCH',
    );
    expect(refusal(() => verifyArtifact(release.artifact, undefined, verified, [key.publicKey]))).toBe(
      'SIGNATURE_MISSING',
    );
    const foreign = signedRelease(key, { artifactKey: otherKey });
    expect(
      refusal(() => verifyArtifact(foreign.artifact, foreign.artifactSig, verified, [key.publicKey])),
    ).toBe('SIGNATURE_UNKNOWN_KEY');
    const mac = signedRelease(key, {
      artifactComment: 'multiclaw-release artifact product=gateway version=1.3.0 platform=darwin-arm64',
    });
    expect(refusal(() => verifyArtifact(mac.artifact, mac.artifactSig, verified, [key.publicKey]))).toBe(
      'ARTIFACT_COMMENT_MISMATCH',
    );
  });
});
