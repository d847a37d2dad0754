import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Email, isValidEmail, normaliseEmail } from './email.js';

describe('normaliseEmail', () => {
  it('trims, lower-cases and composes', () => {
    expect(normaliseEmail('  Alice@Example.COM\t\n')).toBe('alice@example.com');
    // U+00A0 (no-break space) and U+FEFF (BOM) are whitespace too.
    expect(normaliseEmail('\u00a0bob@example.com\ufeff')).toBe('bob@example.com');
  });

  it('maps composed and decomposed spellings of one address to one string', () => {
    const composed = 'jos\u00e9@example.com'; // é as one code point
    const decomposed = 'jose\u0301@example.com'; // e + combining acute (macOS input)
    expect(composed).not.toBe(decomposed);
    expect(normaliseEmail(decomposed)).toBe(normaliseEmail(composed));
    expect(normaliseEmail('JOSE\u0301@EXAMPLE.COM')).toBe('jos\u00e9@example.com');
  });

  it('is idempotent, also where lower-casing decomposes', () => {
    for (const raw of ['\u0130stanbul@Example.com', ' Mixed.Case+Tag@Sub.Example.ORG ', 'ÅSA@örebro.se']) {
      const once = normaliseEmail(raw);
      expect(normaliseEmail(once)).toBe(once);
      expect(once).toBe(once.normalize('NFC'));
    }
  });
});

describe('Email schema', () => {
  it('parses to the normalised address', () => {
    expect(Email.parse('  Alice@Example.COM ')).toBe('alice@example.com');
    expect(Email.parse('user+tag@sub.example.co.uk')).toBe('user+tag@sub.example.co.uk');
    expect(Email.parse('Jose\u0301@Exa\u0308mple.com')).toBe('jos\u00e9@ex\u00e4mple.com');
  });

  it.each([
    ['', 'empty'],
    ['alice', 'no @'],
    ['alice@', 'no domain'],
    ['@example.com', 'no local part'],
    ['alice@localhost', 'single-label domain'],
    ['alice@1.2.3.4', 'numeric top-level label'],
    ['a..b@example.com', 'double dot'],
    ['.a@example.com', 'leading dot'],
    ['a.@example.com', 'trailing dot'],
    ['a b@example.com', 'inner space'],
    ['a@b@example.com', 'two @'],
    ['"a"@example.com', 'quoted local part'],
    ['a@-example.com', 'label starting with a hyphen'],
    ['a@example-.com', 'label ending with a hyphen'],
    ['a\u200b@example.com', 'zero-width space'],
    ['a\u202e@example.com', 'bidi override'],
    ['a\u0000@example.com', 'NUL'],
    [`${'a'.repeat(65)}@example.com`, 'local part over 64 octets'],
  ])('refuses %j (%s)', (raw) => {
    expect(Email.safeParse(raw).success).toBe(false);
  });

  it('accepts exactly 254 bytes and refuses 255', () => {
    const domain = `${'d'.repeat(60)}.${'e'.repeat(60)}.${'f'.repeat(60)}.${'g'.repeat(50)}.com`; // 237 bytes
    const at254 = `${'a'.repeat(254 - domain.length - 1)}@${domain}`;
    expect(at254).toHaveLength(254);
    expect(Email.parse(at254)).toBe(at254);
    const at255 = `${'a'.repeat(255 - domain.length - 1)}@${domain}`;
    expect(Email.safeParse(at255).success).toBe(false);
  });

  it('counts the limit in UTF-8 bytes, after normalisation', () => {
    // "é" is 2 bytes in UTF-8: 32 of them make a 64-byte local part, 33 are too many.
    expect(isValidEmail(`${'\u00e9'.repeat(32)}@example.com`)).toBe(true);
    expect(isValidEmail(`${'\u00e9'.repeat(33)}@example.com`)).toBe(false);
    // Surrounding whitespace does not count against the limit.
    const domain = `${'d'.repeat(60)}.${'e'.repeat(60)}.${'f'.repeat(60)}.${'g'.repeat(50)}.com`;
    const at254 = `${'a'.repeat(254 - domain.length - 1)}@${domain}`;
    expect(Email.parse(`   ${at254}   `)).toBe(at254);
  });

  it('refuses huge input before normalising it', () => {
    const result = Email.safeParse(`${'a'.repeat(100_000)}@example.com`);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toMatch(/at most 254/);
  });

  it('has a plain string JSON schema for OpenAPI', () => {
    expect(z.toJSONSchema(Email, { io: 'input' })).toMatchObject({ type: 'string' });
  });
});
