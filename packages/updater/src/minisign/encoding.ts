/**
 * The byte layouts minisign writes (https://jedisct1.github.io/minisign/):
 * public key = "Ed" ‖ key id (8) ‖ Ed25519 public key (32);
 * signature  = "ED" (prehashed) or "Ed" (legacy) ‖ key id (8) ‖ signature (64);
 * then a trusted comment line and the global signature (64) over signature ‖ comment.
 */
export const ALGORITHM_ED25519 = 'Ed';
export const ALGORITHM_PREHASHED = 'ED';
export const KEY_ID_BYTES = 8;
export const PUBLIC_KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;
export const UNTRUSTED_PREFIX = 'untrusted comment: ';
export const TRUSTED_PREFIX = 'trusted comment: ';
/** minisign's own limit on a comment line. */
export const COMMENT_MAX_BYTES = 1024;

/** Base64 as minisign writes it; anything Buffer would silently skip or repair is refused (undefined). */
export function decodeBase64Strict(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || text.length % 4 !== 0) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? new Uint8Array(bytes) : undefined;
}

export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}

/** The key id as minisign prints it: the little-endian 64-bit number in upper-case hex, no leading zeros. */
export function keyIdHex(keyId: Uint8Array): string {
  return Buffer.from(keyId).readBigUInt64LE(0).toString(16).toUpperCase();
}

export function ascii(bytes: Uint8Array, start: number, end: number): string {
  return Buffer.from(bytes.subarray(start, end)).toString('latin1');
}

/** Splits a minisign file into lines, tolerating CRLF and one final newline. */
export function linesOf(text: string): string[] {
  const lines = text.split('\n').map((line) => line.replace(/\r$/, ''));
  if (lines.at(-1) === '') lines.pop();
  return lines;
}
