import * as ed from '@noble/ed25519';
import { blake2b } from '@noble/hashes/blake2.js';
import { UpdateRefusedError } from '../errors.js';
import './ed25519-setup.js';
import { ALGORITHM_PREHASHED, keyIdHex } from './encoding.js';
import type { MinisignPublicKey } from './public-key.js';
import { parseSignature } from './signature.js';

/** RFC 8032's strict checks (canonical encodings, as libsodium and so minisign apply), not ZIP 215's laxer ones. */
const STRICT = { zip215: false };

export interface VerifiedSignature {
  trustedComment: string;
  /** Which pinned key signed (minisign's hex key id). */
  keyIdHex: string;
}

/**
 * Verifies a minisign signature of `data` against the pinned keys (a primary
 * and a backup), in minisign's order: format, algorithm (prehashed only), key
 * id, the signature over BLAKE2b-512(data), then the global signature over
 * signature ‖ trusted comment. Each failure is its own refusal code; only a
 * fully verified signature yields its trusted comment.
 */
export function verifyMinisign(
  data: Uint8Array,
  signatureText: string | undefined,
  trustedKeys: readonly MinisignPublicKey[],
): VerifiedSignature {
  if (trustedKeys.length === 0) throw new UpdateRefusedError('NO_TRUSTED_KEY');
  if (signatureText === undefined) throw new UpdateRefusedError('SIGNATURE_MISSING');
  const parsed = parseSignature(signatureText);
  if (parsed.algorithm !== ALGORITHM_PREHASHED) throw new UpdateRefusedError('SIGNATURE_LEGACY');
  const key = trustedKeys.find((candidate) => Buffer.from(candidate.keyId).equals(parsed.keyId));
  if (!key) {
    throw new UpdateRefusedError(
      'SIGNATURE_UNKNOWN_KEY',
      `It names key ${keyIdHex(parsed.keyId)}; pinned: ${trustedKeys.map((k) => k.keyIdHex).join(', ')}.`,
    );
  }
  if (!verifies(parsed.signature, blake2b(data, { dkLen: 64 }), key.publicKey)) {
    throw new UpdateRefusedError('SIGNATURE_INVALID');
  }
  const signed = Buffer.concat([parsed.signature, Buffer.from(parsed.trustedComment, 'utf8')]);
  if (!verifies(parsed.globalSignature, signed, key.publicKey)) {
    throw new UpdateRefusedError('TRUSTED_COMMENT_INVALID');
  }
  return { trustedComment: parsed.trustedComment, keyIdHex: key.keyIdHex };
}

/** A signature that is not even a valid encoding (noble throws on some) is simply not valid. */
function verifies(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    return ed.verify(signature, message, publicKey, STRICT);
  } catch {
    return false;
  }
}
