import { describe, expect, it } from 'vitest';
import {
  checkPasswordPolicy,
  commonPasswordList,
  MAX_PASSWORD_BYTES,
  MAX_PASSWORD_CHARS,
  MIN_PASSWORD_CHARS,
} from './policy.js';

const code = (password: string, email?: string) => {
  const result = checkPasswordPolicy(password, email === undefined ? {} : { email });
  return result.ok ? 'OK' : result.code;
};

describe('password policy', () => {
  it('accepts ordinary strong passwords, passphrases and any characters', () => {
    for (const password of [
      'correct horse battery staple',
      'Tr0ub4dor&3-but-longer',
      'mañana en el café 42',
      '  spaces   are fine  ',
      '密码很长而且很安全吗',
      '🦊🐙🦄🐝🐢🦉🐬🦋',
    ]) {
      expect(checkPasswordPolicy(password)).toEqual({ ok: true });
    }
  });

  it('requires at least 8 characters, counted as Unicode code points of the NFC form', () => {
    expect(code('s3cr#tZ')).toBe('PASSWORD_TOO_SHORT');
    expect(code('s3cr#tZq')).toBe('OK');
    // 7 emoji are 14 UTF-16 units but 7 characters.
    expect(code('🦊🐙🦄🐝🐢🦉🐬')).toBe('PASSWORD_TOO_SHORT');
    // "é" typed decomposed is two code points, but one character after NFC.
    expect(code('qzv\u0065\u0301xwk')).toBe('PASSWORD_TOO_SHORT');
    expect(code('qzv\u00e9xwky')).toBe('OK');
    expect(MIN_PASSWORD_CHARS).toBe(8);
  });

  it('allows at least 64 characters and refuses more than the upper bound', () => {
    expect(MAX_PASSWORD_CHARS).toBeGreaterThanOrEqual(64);
    const random64 = 'k7#Qz!p2Lm9@Xw4$Rt6^Yb8&Nc3*Vd5(Hf1)Gj0_Ks-Ua+Ie=Oo[Pq]Wr{Ty}Mn;';
    expect([...random64]).toHaveLength(64);
    expect(code(random64)).toBe('OK');
    const atBound = `${'ab3$'.repeat(MAX_PASSWORD_CHARS / 4 - 1)}zyx!`;
    expect([...atBound]).toHaveLength(MAX_PASSWORD_CHARS);
    expect(code(atBound)).toBe('OK');
    expect(code(`${atBound}q`)).toBe('PASSWORD_TOO_LONG');
    // A megabyte is refused without trouble.
    expect(code('x'.repeat(1024 * 1024))).toBe('PASSWORD_TOO_LONG');
    const result = checkPasswordPolicy('x'.repeat(MAX_PASSWORD_CHARS + 1));
    expect(result).toMatchObject({ ok: false, message: `Use at most ${MAX_PASSWORD_CHARS} characters.` });
  });

  it(`keeps the NFC form within ${MAX_PASSWORD_BYTES} bytes`, () => {
    // 256 four-byte emoji: 1024 bytes, at the bound.
    const emoji = Array.from({ length: MAX_PASSWORD_CHARS }, (_, i) =>
      String.fromCodePoint(0x1f400 + ((i * 7) % 256)),
    ).join('');
    expect(Buffer.byteLength(emoji)).toBe(MAX_PASSWORD_BYTES);
    expect(code(emoji)).toBe('OK');
  });

  it('refuses common breached passwords, whatever their case', () => {
    for (const password of [
      'password',
      'Password1',
      'PASSWORD123',
      'iloveyou',
      'qwertyuiop',
      'letmein1',
      'P@ssw0rd',
      'trustno1',
      '1q2w3e4r',
      'baseball',
      'welcome123',
      'Sunshine1',
      'monkey123',
      'zaq12wsx',
    ]) {
      expect(code(password), password).toBe('PASSWORD_BREACHED');
    }
    const result = checkPasswordPolicy('Password1');
    expect(result).toMatchObject({ ok: false, message: expect.stringMatching(/data breaches/) });
  });

  it('refuses the simple repetitions and sequences that the list leaves to pattern matching', () => {
    for (const password of [
      'aaaaaaaa',
      '00000000',
      'abababab',
      '12341234',
      'abcabcab',
      'ABCDEFGH',
      'abcdefghij',
      '87654321',
      'zyxwvuts',
    ]) {
      expect(code(password), password).toBe('PASSWORD_BREACHED');
    }
    // Near misses are not patterns.
    for (const password of ['abcdefgz', 'aaaaaaab', '98765430', 'abcdabce']) {
      expect(code(password), password).toBe('OK');
    }
  });

  it("refuses the person's own email address and its local part", () => {
    expect(code('alice.liddell@example.com', 'alice.liddell@example.com')).toBe('PASSWORD_BREACHED');
    expect(code('Alice.Liddell@Example.com', ' alice.liddell@EXAMPLE.com ')).toBe('PASSWORD_BREACHED');
    expect(code('alice.liddell', 'alice.liddell@example.com')).toBe('PASSWORD_BREACHED');
    expect(checkPasswordPolicy('alice.liddell', { email: 'alice.liddell@example.com' })).toMatchObject({
      message: expect.stringMatching(/email address/),
    });
    // Someone else's address, or no address, is just a password.
    expect(code('alice.liddell@example.com', 'bob@example.com')).toBe('OK');
    expect(code('alice.liddell@example.com')).toBe('OK');
  });

  it('has a list of tens of thousands of passwords, all lower-case', () => {
    const list = commonPasswordList();
    expect(list.size).toBeGreaterThan(40_000);
    expect(list.has('123456')).toBe(true);
    expect([...list].every((entry) => entry === entry.toLowerCase())).toBe(true);
  });
});
