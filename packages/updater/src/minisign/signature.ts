import { UpdateRefusedError } from '../errors.js';
import {
  ALGORITHM_ED25519,
  ALGORITHM_PREHASHED,
  ascii,
  COMMENT_MAX_BYTES,
  decodeBase64Strict,
  KEY_ID_BYTES,
  keyIdHex,
  linesOf,
  SIGNATURE_BYTES,
  TRUSTED_PREFIX,
  UNTRUSTED_PREFIX,
} from './encoding.js';

export interface MinisignSignature {
  /** "ED" prehashed (BLAKE2b-512 of the file), "Ed" legacy (the file itself). */
  algorithm: string;
  keyId: Uint8Array;
  signature: Uint8Array;
  trustedComment: string;
  /** Ed25519 over signature ‖ trusted comment. */
  globalSignature: Uint8Array;
}

const malformed = (why: string) => new UpdateRefusedError('SIGNATURE_MALFORMED', why);

/** A .minisig file: four lines, each checked for its prefix and length. */
export function parseSignature(text: string): MinisignSignature {
  if (text.trim() === '') throw new UpdateRefusedError('SIGNATURE_MISSING');
  const lines = linesOf(text);
  if (lines.length !== 4) throw malformed(`Expected 4 lines, found ${lines.length}.`);
  const [untrusted, sigLine, trusted, globalLine] = lines as [string, string, string, string];
  if (!untrusted.startsWith(UNTRUSTED_PREFIX)) throw malformed('The first line is not an untrusted comment.');
  if (!trusted.startsWith(TRUSTED_PREFIX)) throw malformed('The third line is not a trusted comment.');
  const trustedComment = trusted.slice(TRUSTED_PREFIX.length);
  if (Buffer.byteLength(trustedComment) > COMMENT_MAX_BYTES)
    throw malformed('The trusted comment is too long.');
  const sig = decodeBase64Strict(sigLine);
  if (!sig || sig.length !== 2 + KEY_ID_BYTES + SIGNATURE_BYTES)
    throw malformed('The signature line is not valid.');
  const globalSignature = decodeBase64Strict(globalLine);
  if (!globalSignature || globalSignature.length !== SIGNATURE_BYTES)
    throw malformed('The global signature line is not valid.');
  const algorithm = ascii(sig, 0, 2);
  if (algorithm !== ALGORITHM_PREHASHED && algorithm !== ALGORITHM_ED25519)
    throw malformed(`Unknown signature algorithm "${algorithm}".`);
  const keyId = sig.slice(2, 2 + KEY_ID_BYTES);
  return { algorithm, keyId, signature: sig.slice(2 + KEY_ID_BYTES), trustedComment, globalSignature };
}

export { keyIdHex };
