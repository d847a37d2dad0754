import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatPublicKey, type MinisignPublicKey, parsePublicKey } from '../src/index.js';
import {
  encodeSecretKey,
  generateSecretKey,
  type KdfLimits,
  type MinisignSecretKey,
} from '../src/signing/index.js';
import { minisignOk } from './minisign-peer.js';

/** libsodium's INTERACTIVE limits (scrypt N = 2^14, 16 MiB): fast enough for many tests, still real scrypt. */
export const FAST_KDF: KdfLimits = { opslimit: 524_288n, memlimit: 16_777_216n };

export const tempDir = (prefix = 'updater-') => mkdtempSync(join(tmpdir(), prefix));

/** A key pair made by minisign -G -W: files in `dir`, and its public key parsed. */
export function minisignKeyPair(
  dir: string,
  name: string,
): { pub: string; key: string; publicKey: MinisignPublicKey } {
  const pub = join(dir, `${name}.pub`);
  const key = join(dir, `${name}.key`);
  minisignOk(['-G', '-W', '-p', pub, '-s', key], { cwd: dir });
  return { pub, key, publicKey: parsePublicKey(readFileSync(pub, 'utf8')) };
}

/** A key pair of ours, written as minisign files (unencrypted unless a password is given). */
export async function ourKeyPair(
  dir: string,
  name: string,
  password?: string,
): Promise<{ pub: string; key: string; secret: MinisignSecretKey; publicKey: MinisignPublicKey }> {
  const secret = generateSecretKey();
  const pub = join(dir, `${name}.pub`);
  const key = join(dir, `${name}.key`);
  writeFileSync(pub, formatPublicKey(secret.publicKey));
  writeFileSync(key, await encodeSecretKey(secret, password, FAST_KDF), { mode: 0o600 });
  return { pub, key, secret, publicKey: secret.publicKey };
}

/** The signature text with one byte of its decoded line `line` (0-based) XORed, re-encoded. */
export function flipInLine(signature: string, line: number, byteIndex: number): string {
  const lines = signature.split('\n');
  const bytes = Buffer.from(lines[line] ?? '', 'base64');
  bytes[byteIndex] = (bytes[byteIndex] ?? 0) ^ 0x01;
  lines[line] = bytes.toString('base64');
  return lines.join('\n');
}
