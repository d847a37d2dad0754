import { describe, expect, it } from 'vitest';
import { MAX_WRONG_CODES, PAIRING_CODE, PAIRING_CODE_TTL_MS, PairingCodes } from './pairing-codes.js';

describe('pairing codes', () => {
  it('are 9 characters a person can read, valid once, until they expire', () => {
    let now = 1_000;
    const codes = new PairingCodes(() => now);
    const { code, expiresAt } = codes.issue();
    expect(code).toMatch(PAIRING_CODE);
    expect(code).toMatch(/^[A-Z0-9-]{6,12}$/);
    expect(Date.parse(expiresAt)).toBe(1_000 + PAIRING_CODE_TTL_MS);
    expect(codes.redeem(code)).toBe(true);
    expect(codes.redeem(code)).toBe(false);

    const late = codes.issue().code;
    now += PAIRING_CODE_TTL_MS;
    expect(codes.redeem(late)).toBe(false);
  });

  it('accept what a person types (lower case, spaces, no dash)', () => {
    const codes = new PairingCodes();
    const { code } = codes.issue();
    expect(codes.redeem(` ${code.replace('-', ' ').toLowerCase()} `)).toBe(true);
  });

  it(`burn every open code after ${MAX_WRONG_CODES} wrong ones, and a new code works again`, () => {
    const codes = new PairingCodes();
    const open = codes.issue().code;
    for (let guess = 0; guess <= MAX_WRONG_CODES; guess++) expect(codes.redeem('ZZZZ-ZZZ2')).toBe(false);
    expect(codes.redeem(open)).toBe(false);
    const fresh = codes.issue().code;
    expect(codes.redeem('ZZZZ-ZZZ3')).toBe(false);
    expect(codes.redeem(fresh)).toBe(true);
  });
});
