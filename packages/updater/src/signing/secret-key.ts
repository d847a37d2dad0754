import { randomBytes } from 'node:crypto';
import * as ed from '@noble/ed25519';
import { blake2b } from '@noble/hashes/blake2.js';
import { scryptAsync } from '@noble/hashes/scrypt.js';

import '../minisign/ed25519-setup.js';
import {
  ALGORITHM_ED25519,
  decodeBase64Strict,
  encodeBase64,
  keyIdHex,
  UNTRUSTED_PREFIX,
} from '../minisign/encoding.js';
import type { MinisignPublicKey } from '../minisign/public-key.js';

/**
 * minisign's secret key file, byte for byte (minisign.h, SeckeyStruct):
 *   "Ed" ‖ kdf "Sc" (scrypt) or 0x0000 (none, -W) ‖ checksum "B2" ‖ salt (32)
 *   ‖ opslimit (u64 LE) ‖ memlimit (u64 LE)
 *   ‖ [key id (8) ‖ Ed25519 secret key (64: seed ‖ public) ‖ BLAKE2b-256("Ed" ‖ key id ‖ secret key) (32)]
 * where the bracketed 104 bytes are XORed with scrypt(password, salt) when
 * encrypted. scrypt's N, r, p come from opslimit and memlimit as libsodium's
 * crypto_pwhash_scryptsalsa208sha256 picks them.
 */
const KDF_SCRYPT = 'Sc';
const KDF_NONE = '\0\0';
const CHECKSUM_BLAKE2B = 'B2';
const SALT_BYTES = 32;
const KEYNUM_BYTES = 8 + 64 + 32;
const FILE_BYTES = 6 + SALT_BYTES + 16 + KEYNUM_BYTES;

/** libsodium's *_SENSITIVE limits, what minisign -G uses: scrypt N = 2^20, r = 8, p = 1 (1 GiB). */
export const SENSITIVE_KDF = { opslimit: 33_554_432n, memlimit: 1_073_741_824n } as const;

export interface KdfLimits {
  opslimit: bigint;
  memlimit: bigint;
}

export interface MinisignSecretKey {
  keyId: Uint8Array;
  /** 64 bytes, libsodium's layout: seed ‖ public key. */
  secretKey: Uint8Array;
  publicKey: MinisignPublicKey;
}

export class SecretKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretKeyError';
  }
}

export function generateSecretKey(): MinisignSecretKey {
  const seed = randomBytes(32);
  const publicKey = ed.getPublicKey(seed);
  return withPublic(new Uint8Array(randomBytes(8)), new Uint8Array(Buffer.concat([seed, publicKey])));
}

function withPublic(keyId: Uint8Array, secretKey: Uint8Array): MinisignSecretKey {
  const publicKey = secretKey.slice(32);
  return { keyId, secretKey, publicKey: { keyId, keyIdHex: keyIdHex(keyId), publicKey } };
}

function checksum(keyId: Uint8Array, secretKey: Uint8Array): Uint8Array {
  return blake2b(Buffer.concat([Buffer.from(ALGORITHM_ED25519, 'latin1'), keyId, secretKey]), { dkLen: 32 });
}

/** libsodium's pickparams() for scryptsalsa208sha256, so keys minisign wrote decrypt here and ours there. */
export function scryptParameters(limits: KdfLimits): { N: number; r: number; p: number } {
  const opslimit = limits.opslimit < 32_768n ? 32_768n : limits.opslimit;
  const r = 8n;
  let nLog2 = 1n;
  let p: bigint;
  const firstAbove = (maxN: bigint) => {
    for (nLog2 = 1n; nLog2 < 63n; nLog2 += 1n) if (1n << nLog2 > maxN / 2n) break;
  };
  if (opslimit < limits.memlimit / 32n) {
    p = 1n;
    firstAbove(opslimit / (r * 4n));
  } else {
    firstAbove(limits.memlimit / (r * 128n));
    let maxrp = opslimit / 4n / (1n << nLog2);
    if (maxrp > 0x3fffffffn) maxrp = 0x3fffffffn;
    p = maxrp / r;
  }
  // Refuse what would exhaust memory or is degenerate rather than try it.
  if (nLog2 > 20n || p < 1n || p > 16n)
    throw new SecretKeyError('The secret key asks for unsupported scrypt limits.');
  return { N: Number(1n << nLog2), r: Number(r), p: Number(p) };
}

async function keystream(password: string, salt: Uint8Array, limits: KdfLimits): Promise<Uint8Array> {
  const { N, r, p } = scryptParameters(limits);
  return scryptAsync(new TextEncoder().encode(password), salt, {
    N,
    r,
    p,
    dkLen: KEYNUM_BYTES,
    maxmem: 2 ** 31,
  });
}

function xorInto(target: Uint8Array, stream: Uint8Array): void {
  for (let i = 0; i < target.length; i++) target[i] = (target[i] ?? 0) ^ (stream[i] ?? 0);
}

/** The .key file text; `password` undefined writes an unencrypted key, as `minisign -G -W`. */
export async function encodeSecretKey(
  key: MinisignSecretKey,
  password: string | undefined,
  limits: KdfLimits = SENSITIVE_KDF,
): Promise<string> {
  const salt = password === undefined ? new Uint8Array(SALT_BYTES) : new Uint8Array(randomBytes(SALT_BYTES));
  const keynum = new Uint8Array(
    Buffer.concat([key.keyId, key.secretKey, checksum(key.keyId, key.secretKey)]),
  );
  const numbers = Buffer.alloc(16);
  if (password !== undefined) {
    numbers.writeBigUInt64LE(limits.opslimit, 0);
    numbers.writeBigUInt64LE(limits.memlimit, 8);
    xorInto(keynum, await keystream(password, salt, limits));
  }
  const header = `${ALGORITHM_ED25519}${password === undefined ? KDF_NONE : KDF_SCRYPT}${CHECKSUM_BLAKE2B}`;
  const bytes = Buffer.concat([Buffer.from(header, 'latin1'), salt, numbers, keynum]);
  return `${UNTRUSTED_PREFIX}minisign encrypted secret key\n${encodeBase64(bytes)}\n`;
}

export function isEncrypted(text: string): boolean {
  return Buffer.from(decodeKeyBytes(text).subarray(2, 4)).toString('latin1') === KDF_SCRYPT;
}

function decodeKeyBytes(text: string): Uint8Array {
  const lines = text
    .trim()
    .split('\n')
    .map((line) => line.replace(/\r$/, ''));
  const bytes =
    lines.length === 2 && lines[0]?.startsWith(UNTRUSTED_PREFIX)
      ? decodeBase64Strict(lines[1] ?? '')
      : undefined;
  if (!bytes || bytes.length !== FILE_BYTES)
    throw new SecretKeyError('This is not a minisign secret key file.');
  const header = Buffer.from(bytes.subarray(0, 6)).toString('latin1');
  if (header.slice(0, 2) !== ALGORITHM_ED25519 || header.slice(4) !== CHECKSUM_BLAKE2B) {
    throw new SecretKeyError('This secret key uses an algorithm minisign does not.');
  }
  if (![KDF_SCRYPT, KDF_NONE].includes(header.slice(2, 4)))
    throw new SecretKeyError('Unknown key derivation.');
  return bytes;
}

/** Reads a .key file; an encrypted one needs its password (a wrong one fails the checksum). */
export async function decodeSecretKey(
  text: string,
  password: string | undefined,
): Promise<MinisignSecretKey> {
  const bytes = decodeKeyBytes(text);
  const encrypted = Buffer.from(bytes.subarray(2, 4)).toString('latin1') === KDF_SCRYPT;
  const keynum = bytes.slice(6 + SALT_BYTES + 16);
  if (encrypted) {
    if (password === undefined)
      throw new SecretKeyError('This secret key is encrypted: a password is needed.');
    const view = Buffer.from(bytes.buffer, bytes.byteOffset + 6 + SALT_BYTES, 16);
    const limits = { opslimit: view.readBigUInt64LE(0), memlimit: view.readBigUInt64LE(8) };
    xorInto(keynum, await keystream(password, bytes.subarray(6, 6 + SALT_BYTES), limits));
  }
  const keyId = keynum.slice(0, 8);
  const secretKey = keynum.slice(8, 72);
  const stored = keynum.slice(72);
  // minisign 0.11 leaves the checksum of a -W key all zeros; an encrypted key's always counts.
  const unchecked = !encrypted && stored.every((byte) => byte === 0);
  if (!unchecked && !Buffer.from(checksum(keyId, secretKey)).equals(stored)) {
    throw new SecretKeyError(
      encrypted ? 'Wrong password for this secret key.' : 'The secret key is damaged.',
    );
  }
  const key = withPublic(keyId, secretKey);
  if (!Buffer.from(ed.getPublicKey(secretKey.slice(0, 32))).equals(key.publicKey.publicKey)) {
    throw new SecretKeyError('The secret key is damaged: its halves do not match.');
  }
  return key;
}
