import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FAST_KDF, minisignKeyPair, ourKeyPair, tempDir } from '../../test/keys.js';
import { minisign, minisignOk, minisignVersion } from '../../test/minisign-peer.js';
import { parsePublicKey } from '../minisign/public-key.js';
import { verifyMinisign } from '../minisign/verify.js';
import { decodeSecretKey, SENSITIVE_KDF, SecretKeyError, scryptParameters } from './secret-key.js';
import { signMinisign } from './sign.js';

/** Our keys and signatures in Debian's minisign, and minisign's keys in our signer: both ways. */
const dir = tempDir('minisign-interop-');
const file = join(dir, 'release.tar');
const data = Buffer.from(Array.from({ length: 5000 }, (_, i) => i % 251));

beforeAll(() => {
  writeFileSync(file, data);
  expect(minisignVersion()).toMatch(/^minisign \d/);
});

describe('our signatures in minisign -V', () => {
  it('verifies a signature of ours, also with -H (prehashed required), and prints our trusted comment', async () => {
    const ours = await ourKeyPair(dir, 'ours-a');
    writeFileSync(
      `${file}.minisig`,
      signMinisign(data, ours.secret, { trustedComment: 'made by multiclaw' }),
    );
    expect(minisignOk(['-V', '-p', ours.pub, '-m', file], { cwd: dir })).toContain('made by multiclaw');
    minisignOk(['-V', '-H', '-p', ours.pub, '-m', file], { cwd: dir });
    // Not vacuous: the same check fails on a tampered file and on another key.
    writeFileSync(join(dir, 'tampered.tar'), Buffer.concat([data, Buffer.from('x')]));
    writeFileSync(join(dir, 'tampered.tar.minisig'), readFileSync(`${file}.minisig`));
    expect(minisign(['-V', '-p', ours.pub, '-m', join(dir, 'tampered.tar')], { cwd: dir }).status).not.toBe(
      0,
    );
    const another = await ourKeyPair(dir, 'ours-b');
    expect(minisign(['-V', '-p', another.pub, '-m', file], { cwd: dir }).status).not.toBe(0);
  });

  it('our unencrypted secret key file signs in minisign -S; we verify the result', async () => {
    const ours = await ourKeyPair(dir, 'ours-w');
    const sig = join(dir, 'by-minisign-with-our-key.minisig');
    minisignOk(['-S', '-s', ours.key, '-m', file, '-x', sig, '-t', 'their signer, our key'], { cwd: dir });
    expect(verifyMinisign(data, readFileSync(sig, 'utf8'), [ours.publicKey]).trustedComment).toBe(
      'their signer, our key',
    );
  });

  it('our encrypted secret key file signs in minisign -S with its password on standard input; a wrong one fails', async () => {
    const ours = await ourKeyPair(dir, 'ours-enc', 'correct horse');
    const sig = join(dir, 'enc.minisig');
    minisignOk(['-S', '-s', ours.key, '-m', file, '-x', sig, '-t', 'encrypted'], {
      cwd: dir,
      input: 'correct horse\n',
    });
    expect(verifyMinisign(data, readFileSync(sig, 'utf8'), [ours.publicKey]).trustedComment).toBe(
      'encrypted',
    );
    const wrong = minisign(['-S', '-s', ours.key, '-m', file, '-x', join(dir, 'x.minisig')], {
      cwd: dir,
      input: 'battery staple\n',
    });
    expect(wrong.status).not.toBe(0);
    expect(wrong.stderr).toMatch(/wrong password/i);
  });
});

describe("minisign's keys in our signer", () => {
  it('signs with a minisign -G -W key; minisign -V and we both verify it', async () => {
    const theirs = minisignKeyPair(dir, 'theirs-w');
    const key = await decodeSecretKey(readFileSync(theirs.key, 'utf8'), undefined);
    expect(key.publicKey.publicKey).toEqual(theirs.publicKey.publicKey);
    const sig = join(dir, 'ours-with-their-key.minisig');
    writeFileSync(sig, signMinisign(data, key, { trustedComment: 'our signer, their key' }));
    expect(minisignOk(['-V', '-p', theirs.pub, '-m', file, '-x', sig], { cwd: dir })).toContain(
      'our signer, their key',
    );
    expect(
      verifyMinisign(data, readFileSync(sig, 'utf8'), [parsePublicKey(readFileSync(theirs.pub, 'utf8'))]),
    ).toBeTruthy();
  });

  it('decrypts a minisign -G key encrypted with a password (scrypt N=2^20) and signs; a wrong password is refused', async () => {
    const pub = join(dir, 'theirs-enc.pub');
    const keyPath = join(dir, 'theirs-enc.key');
    minisignOk(['-G', '-p', pub, '-s', keyPath], { cwd: dir, input: 'hunter2 hunter2\nhunter2 hunter2\n' });
    const text = readFileSync(keyPath, 'utf8');
    const key = await decodeSecretKey(text, 'hunter2 hunter2');
    const sig = join(dir, 'ours-with-their-enc-key.minisig');
    writeFileSync(sig, signMinisign(data, key, { trustedComment: 'decrypted here' }));
    expect(minisignOk(['-V', '-p', pub, '-m', file, '-x', sig], { cwd: dir })).toContain('decrypted here');
    await expect(decodeSecretKey(text, 'hunter3 hunter3')).rejects.toThrow(SecretKeyError);
    await expect(decodeSecretKey(text, undefined)).rejects.toThrow(/password is needed/);
    // Three scrypt runs of 1 GiB each (minisign's, ours, ours refused): 200 s were seen on a loaded 2-core machine.
  }, 900_000);
});

describe('scrypt parameters as libsodium picks them', () => {
  it('SENSITIVE (minisign -G) is N=2^20, r=8, p=1; INTERACTIVE is N=2^14, r=8, p=1', () => {
    expect(scryptParameters(SENSITIVE_KDF)).toEqual({ N: 2 ** 20, r: 8, p: 1 });
    expect(scryptParameters(FAST_KDF)).toEqual({ N: 2 ** 14, r: 8, p: 1 });
  });

  it('refuses limits that would need more than 1 GiB', () => {
    expect(() => scryptParameters({ opslimit: 2n ** 40n, memlimit: 2n ** 40n })).toThrow(SecretKeyError);
  });
});
