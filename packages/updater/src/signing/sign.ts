import * as ed from '@noble/ed25519';
import { blake2b } from '@noble/hashes/blake2.js';
import { ALGORITHM_PREHASHED, encodeBase64, TRUSTED_PREFIX, UNTRUSTED_PREFIX } from '../minisign/encoding.js';
import '../minisign/ed25519-setup.js';
import type { MinisignSecretKey } from './secret-key.js';

export interface SignOptions {
  trustedComment: string;
  untrustedComment?: string;
}

/** A prehashed ("ED") minisign signature of `data`, as `minisign -S` writes it. */
export function signMinisign(data: Uint8Array, key: MinisignSecretKey, options: SignOptions): string {
  if (/[\r\n]/.test(options.trustedComment) || /[\r\n]/.test(options.untrustedComment ?? '')) {
    throw new Error('A comment must be one line.');
  }
  const seed = key.secretKey.slice(0, 32);
  const signature = ed.sign(blake2b(data, { dkLen: 64 }), seed);
  const global = ed.sign(Buffer.concat([signature, Buffer.from(options.trustedComment, 'utf8')]), seed);
  const sigLine = encodeBase64(
    Buffer.concat([Buffer.from(ALGORITHM_PREHASHED, 'latin1'), key.keyId, signature]),
  );
  const untrusted = options.untrustedComment ?? 'signature from minisign secret key';
  return `${UNTRUSTED_PREFIX}${untrusted}\n${sigLine}\n${TRUSTED_PREFIX}${options.trustedComment}\n${encodeBase64(global)}\n`;
}
