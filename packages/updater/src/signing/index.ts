/**
 * Making keys and signatures, minisign-compatible: what `multiclaw-release`
 * and the tests use. The updater itself only verifies; nothing the gateway or
 * the desktop runs imports this entry.
 */

export { layOutRelease, type ReleaseToSign } from './release-layout.js';
export {
  decodeSecretKey,
  encodeSecretKey,
  generateSecretKey,
  isEncrypted,
  type KdfLimits,
  type MinisignSecretKey,
  SENSITIVE_KDF,
  SecretKeyError,
  scryptParameters,
} from './secret-key.js';
export { type SignOptions, signMinisign } from './sign.js';
