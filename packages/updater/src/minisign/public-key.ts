import { UpdateRefusedError } from '../errors.js';
import {
  ALGORITHM_ED25519,
  ascii,
  decodeBase64Strict,
  encodeBase64,
  KEY_ID_BYTES,
  keyIdHex,
  linesOf,
  PUBLIC_KEY_BYTES,
  UNTRUSTED_PREFIX,
} from './encoding.js';

export interface MinisignPublicKey {
  keyId: Uint8Array;
  /** The key id as minisign prints it ("B43D40A6E06D8232"). */
  keyIdHex: string;
  publicKey: Uint8Array;
}

/**
 * A public key in minisign's format: the whole .pub file (untrusted comment
 * line, then the base64 line) or the base64 line alone, as `minisign -P` takes it.
 */
export function parsePublicKey(text: string): MinisignPublicKey {
  const lines = linesOf(text.trim());
  const [first, second] = lines;
  const base64 =
    lines.length === 1
      ? first
      : lines.length === 2 && first?.startsWith(UNTRUSTED_PREFIX)
        ? second
        : undefined;
  const bytes = base64 === undefined ? undefined : decodeBase64Strict(base64);
  if (
    !bytes ||
    bytes.length !== 2 + KEY_ID_BYTES + PUBLIC_KEY_BYTES ||
    ascii(bytes, 0, 2) !== ALGORITHM_ED25519
  ) {
    throw new UpdateRefusedError(
      'PUBLIC_KEY_MALFORMED',
      'Expected the contents of a minisign .pub file, or its base64 line (RW…, 56 characters).',
    );
  }
  const keyId = bytes.slice(2, 2 + KEY_ID_BYTES);
  return { keyId, keyIdHex: keyIdHex(keyId), publicKey: bytes.slice(2 + KEY_ID_BYTES) };
}

/** The base64 line of a public key (what `minisign -P` takes). */
export function publicKeyBase64(key: Pick<MinisignPublicKey, 'keyId' | 'publicKey'>): string {
  return encodeBase64(Buffer.concat([Buffer.from(ALGORITHM_ED25519, 'latin1'), key.keyId, key.publicKey]));
}

/** A .pub file as minisign writes it. */
export function formatPublicKey(key: Pick<MinisignPublicKey, 'keyId' | 'publicKey'>): string {
  return `${UNTRUSTED_PREFIX}minisign public key ${keyIdHex(key.keyId)}\n${publicKeyBase64(key)}\n`;
}
