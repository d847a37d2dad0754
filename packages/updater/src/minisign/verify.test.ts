import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { flipInLine, minisignKeyPair, tempDir } from '../../test/keys.js';
import { minisignOk } from '../../test/minisign-peer.js';
import { refusal } from '../../test/refusal.js';
import { type MinisignPublicKey, parsePublicKey } from './public-key.js';
import { verifyMinisign } from './verify.js';

/** Signatures made by Debian's minisign, checked by our verifier: every refusal its own code. */
const dir = tempDir('minisign-verify-');
const file = join(dir, 'artifact.bin');
const data = Buffer.from('multiclaw release artifact\n'.repeat(100));
let primary: ReturnType<typeof minisignKeyPair>;
let backup: ReturnType<typeof minisignKeyPair>;
let other: ReturnType<typeof minisignKeyPair>;
let signature: string;

const algorithmOf = (text: string) =>
  Buffer.from(text.split('\n')[1] ?? '', 'base64')
    .subarray(0, 2)
    .toString();

beforeAll(() => {
  writeFileSync(file, data);
  primary = minisignKeyPair(dir, 'primary');
  backup = minisignKeyPair(dir, 'backup');
  other = minisignKeyPair(dir, 'other');
  minisignOk(['-S', '-s', primary.key, '-m', file, '-t', 'version=1.2.3 channel=stable'], { cwd: dir });
  signature = readFileSync(`${file}.minisig`, 'utf8');
});

describe('verifyMinisign against signatures made by minisign -S', () => {
  it('accepts a prehashed signature by the pinned key and answers its trusted comment and key id', () => {
    expect(algorithmOf(signature)).toBe('ED'); // "ED": prehashed, as minisign 0.11 signs by default
    const verified = verifyMinisign(data, signature, [primary.publicKey]);
    expect(verified).toEqual({
      trustedComment: 'version=1.2.3 channel=stable',
      keyIdHex: primary.publicKey.keyIdHex,
    });
  });

  it('accepts a signature by the backup key when both are pinned', () => {
    const bySecond = join(dir, 'by-backup.minisig');
    minisignOk(['-S', '-s', backup.key, '-m', file, '-x', bySecond, '-t', 'backup'], { cwd: dir });
    const text = readFileSync(bySecond, 'utf8');
    expect(verifyMinisign(data, text, [primary.publicKey, backup.publicKey]).keyIdHex).toBe(
      backup.publicKey.keyIdHex,
    );
    expect(refusal(() => verifyMinisign(data, text, [primary.publicKey]))).toBe('SIGNATURE_UNKNOWN_KEY');
  });

  it('refuses a flipped byte anywhere in the file', () => {
    for (const index of [0, data.length >> 1, data.length - 1]) {
      const tampered = Buffer.from(data);
      tampered[index] = (tampered[index] ?? 0) ^ 0x80;
      expect(refusal(() => verifyMinisign(tampered, signature, [primary.publicKey]))).toBe(
        'SIGNATURE_INVALID',
      );
    }
  });

  it('refuses a flipped byte in the signature, its key id or its global signature, each for its reason', () => {
    expect(refusal(() => verifyMinisign(data, flipInLine(signature, 1, 10), [primary.publicKey]))).toBe(
      'SIGNATURE_INVALID',
    );
    expect(refusal(() => verifyMinisign(data, flipInLine(signature, 1, 73), [primary.publicKey]))).toBe(
      'SIGNATURE_INVALID',
    );
    expect(refusal(() => verifyMinisign(data, flipInLine(signature, 1, 3), [primary.publicKey]))).toBe(
      'SIGNATURE_UNKNOWN_KEY',
    );
    expect(refusal(() => verifyMinisign(data, flipInLine(signature, 3, 5), [primary.publicKey]))).toBe(
      'TRUSTED_COMMENT_INVALID',
    );
  });

  it('refuses an edited trusted comment (the global signature covers it)', () => {
    const edited = signature.replace('version=1.2.3', 'version=9.9.9');
    expect(edited).not.toBe(signature);
    expect(refusal(() => verifyMinisign(data, edited, [primary.publicKey]))).toBe('TRUSTED_COMMENT_INVALID');
    expect(
      refusal(() => verifyMinisign(data, signature.replace('stable', 'stable '), [primary.publicKey])),
    ).toBe('TRUSTED_COMMENT_INVALID');
  });

  it('refuses a signature by another key, and another key wearing the pinned key id', () => {
    expect(refusal(() => verifyMinisign(data, signature, [other.publicKey]))).toBe('SIGNATURE_UNKNOWN_KEY');
    const impostor: MinisignPublicKey = { ...other.publicKey, keyId: primary.publicKey.keyId };
    expect(refusal(() => verifyMinisign(data, signature, [impostor]))).toBe('SIGNATURE_INVALID');
  });

  it('refuses a legacy (minisign -l, non-prehashed) signature even though it is genuine', () => {
    const legacy = join(dir, 'legacy.minisig');
    minisignOk(['-S', '-l', '-s', primary.key, '-m', file, '-x', legacy], { cwd: dir });
    const text = readFileSync(legacy, 'utf8');
    expect(algorithmOf(text)).toBe('Ed');
    minisignOk(['-V', '-p', primary.pub, '-m', file, '-x', legacy], { cwd: dir }); // genuine for minisign itself
    expect(refusal(() => verifyMinisign(data, text, [primary.publicKey]))).toBe('SIGNATURE_LEGACY');
  });

  it('refuses a missing or empty signature, and no pinned key at all', () => {
    expect(refusal(() => verifyMinisign(data, undefined, [primary.publicKey]))).toBe('SIGNATURE_MISSING');
    expect(refusal(() => verifyMinisign(data, '\n', [primary.publicKey]))).toBe('SIGNATURE_MISSING');
    expect(refusal(() => verifyMinisign(data, signature, []))).toBe('NO_TRUSTED_KEY');
  });

  it.each([
    ['three lines', (s: string) => s.split('\n').slice(0, 3).join('\n')],
    ['no untrusted comment prefix', (s: string) => s.replace('untrusted comment: ', 'comment: ')],
    ['no trusted comment prefix', (s: string) => s.replace('trusted comment: ', 'trusted: ')],
    ['a signature line cut short', (s: string) => s.replace(/^(RU[A-Za-z0-9+/]{20})[^\n]*/m, '$1')],
    ['base64 with a stray character', (s: string) => s.replace(/^RU/m, 'R*')],
    ['an unknown algorithm', (s: string) => flipInLine(s, 1, 1)],
  ])('refuses a malformed signature file: %s', (_name, mangle) => {
    expect(refusal(() => verifyMinisign(data, mangle(signature), [primary.publicKey]))).toBe(
      'SIGNATURE_MALFORMED',
    );
  });
});

describe('parsePublicKey', () => {
  it('reads a minisign .pub file and the bare base64 line (-P), with the id minisign prints', () => {
    const text = readFileSync(primary.pub, 'utf8');
    const [comment, line] = text.trim().split('\n');
    expect(comment).toBe(`untrusted comment: minisign public key ${primary.publicKey.keyIdHex}`);
    expect(parsePublicKey(line ?? '')).toEqual(parsePublicKey(text));
  });

  it.each([
    ['empty', ''],
    ['a secret key', 'untrusted comment: minisign encrypted secret key\nRWQAAEIy'],
    ['truncated', 'RWQygm3gpkA9tBP0HGzcBgxneu/cQ36Ve3ntujWpQqVSa1c1R6qnqq'],
    ['another algorithm', Buffer.concat([Buffer.from('EX'), Buffer.alloc(40)]).toString('base64')],
  ])('refuses %s', (_name, text) => {
    expect(refusal(() => parsePublicKey(text))).toBe('PUBLIC_KEY_MALFORMED');
  });
});
