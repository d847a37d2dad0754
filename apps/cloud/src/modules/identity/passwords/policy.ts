import { normaliseEmail } from '@multiclaw/protocol';
import { dictionary } from '@zxcvbn-ts/language-common';

/**
 * The password policy for new passwords (registration, password change),
 * after NIST SP 800-63B and OWASP ASVS 2.1: a length floor, a generous
 * ceiling, no composition rules, and a refusal of passwords attackers try
 * first. Sign-in does not apply it: an existing password is only verified.
 *
 * Lengths are counted in Unicode code points of the NFC form, so "é" is one
 * character however it was typed; the hasher hashes that same NFC form.
 */

export const MIN_PASSWORD_CHARS = 8;
/**
 * The ceiling, far above what anyone types or a password manager generates
 * (typically ≤ 128). Argon2 itself pre-hashes the password once with BLAKE2b,
 * so length barely changes its cost (unlike PBKDF2 or sha-crypt, where long
 * passwords were a known denial-of-service); the bound is there so that one
 * request's work before the hash (normalisation, list lookup) and the memory
 * each queued hash job holds stay small and fixed.
 */
export const MAX_PASSWORD_CHARS = 256;
/** 256 characters of 4-byte UTF-8 would be 1024 bytes: a byte bound too, for the native hasher. */
export const MAX_PASSWORD_BYTES = 1024;
/** Anything longer than this (in UTF-16 units) is refused before it is even normalised. */
const MAX_RAW_LENGTH = MAX_PASSWORD_BYTES * 2;

export type PasswordPolicyCode = 'PASSWORD_TOO_SHORT' | 'PASSWORD_TOO_LONG' | 'PASSWORD_BREACHED';
export type PasswordPolicyResult = { ok: true } | { ok: false; code: PasswordPolicyCode; message: string };

const MESSAGES = {
  tooShort: `Use at least ${MIN_PASSWORD_CHARS} characters.`,
  tooLong: `Use at most ${MAX_PASSWORD_CHARS} characters.`,
  breached:
    'This password is one of the most common passwords found in data breaches, so attackers try it first. Choose a different one; a passphrase of a few unrelated words works well.',
  pattern:
    'This password is a simple repetition or sequence (like "aaaaaaaa" or "12345678"), which attackers try first. Choose a different one.',
  email: 'Do not use your email address, or part of it, as your password.',
} as const;

/** Normalises a password the way the policy and the hasher see it. */
export function normalisePassword(password: string): string {
  return password.normalize('NFC');
}

let commonPasswords: ReadonlySet<string> | undefined;

/**
 * The breached-password list: the "passwords-common" dictionary of
 * @zxcvbn-ts/language-common (MIT), about 49,000 lower-case ASCII passwords
 * ranked by how often they occur in Mark Burnett's corpus of ten million
 * passwords from public breaches, kept when seen more than ten times. The
 * generator drops entries zxcvbn already recognises as patterns (repeats,
 * sequences, dates), which is why `checkPasswordPolicy` refuses those
 * patterns itself. Loaded on first use.
 */
export function commonPasswordList(): ReadonlySet<string> {
  commonPasswords ??= new Set(dictionary['passwords-common']);
  return commonPasswords;
}

/** Every code point the same, or the password one short unit repeated ("abcabcab", "12341234"). */
function isRepetition(chars: readonly string[]): boolean {
  for (let unit = 1; unit <= 4 && unit < chars.length; unit += 1) {
    if (chars.every((char, i) => char === chars[i % unit])) return true;
  }
  return false;
}

/** Consecutive code points going one up or one down all the way ("abcdefgh", "98765432"). */
function isStraightSequence(chars: readonly string[]): boolean {
  const points = chars.map((char) => char.codePointAt(0) ?? 0);
  const step = (points[1] ?? 0) - (points[0] ?? 0);
  if (step !== 1 && step !== -1) return false;
  return points.every((point, i) => i === 0 || point - (points[i - 1] ?? 0) === step);
}

function isOwnEmail(lowerPassword: string, email: string | undefined): boolean {
  if (!email) return false;
  const address = normaliseEmail(email);
  if (address === '') return false;
  const at = address.lastIndexOf('@');
  const local = at > 0 ? address.slice(0, at) : address;
  return lowerPassword === address || lowerPassword === local;
}

/**
 * Checks a new password. `context.email` (the account's address, raw or
 * normalised) lets it refuse the address itself and its local part.
 * Messages are meant for the person choosing the password.
 */
export function checkPasswordPolicy(
  password: string,
  context: { email?: string } = {},
): PasswordPolicyResult {
  if (password.length > MAX_RAW_LENGTH)
    return { ok: false, code: 'PASSWORD_TOO_LONG', message: MESSAGES.tooLong };
  const normalised = normalisePassword(password);
  const chars = [...normalised];
  if (chars.length < MIN_PASSWORD_CHARS) {
    return { ok: false, code: 'PASSWORD_TOO_SHORT', message: MESSAGES.tooShort };
  }
  if (chars.length > MAX_PASSWORD_CHARS || Buffer.byteLength(normalised, 'utf8') > MAX_PASSWORD_BYTES) {
    return { ok: false, code: 'PASSWORD_TOO_LONG', message: MESSAGES.tooLong };
  }
  const lower = normalised.toLowerCase();
  if (commonPasswordList().has(lower)) {
    return { ok: false, code: 'PASSWORD_BREACHED', message: MESSAGES.breached };
  }
  const lowerChars = [...lower];
  if (isRepetition(lowerChars) || isStraightSequence(lowerChars)) {
    return { ok: false, code: 'PASSWORD_BREACHED', message: MESSAGES.pattern };
  }
  if (isOwnEmail(lower, context.email)) {
    return { ok: false, code: 'PASSWORD_BREACHED', message: MESSAGES.email };
  }
  return { ok: true };
}
