export {
  isRefusal,
  ReleaseNotNewerError,
  UPDATE_REFUSALS,
  type UpdateRefusalCode,
  UpdateRefusedError,
} from './errors.js';
export { type FeedFetch, parseFeedUrl } from './feed.js';
export { type InstalledCopy, installedCopy } from './install/installed-copy.js';
export { type VersionFloor, versionFloorFile } from './install/version-floor.js';
export {
  artifactTrustedComment,
  type ManifestBinding,
  manifestTrustedComment,
  parseManifestTrustedComment,
  ReleaseManifest,
} from './manifest/manifest.js';
export {
  type ReleaseExpectation,
  type VerifiedRelease,
  verifyArtifact,
  verifyManifest,
} from './manifest/verify-release.js';
export {
  ALGORITHM_ED25519,
  ALGORITHM_PREHASHED,
  decodeBase64Strict,
  encodeBase64,
  keyIdHex,
  TRUSTED_PREFIX,
  UNTRUSTED_PREFIX,
} from './minisign/encoding.js';
export {
  formatPublicKey,
  type MinisignPublicKey,
  parsePublicKey,
  publicKeyBase64,
} from './minisign/public-key.js';
export { type MinisignSignature, parseSignature } from './minisign/signature.js';
export { type VerifiedSignature, verifyMinisign } from './minisign/verify.js';
export {
  applyUpdate,
  checkForUpdate,
  type UpdateApplied,
  type UpdateCheck,
  type UpdaterOptions,
} from './updater.js';
