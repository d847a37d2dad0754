import { z } from 'zod';

/**
 * Email addresses as identity keys. One address must always map to one
 * account and one lockout counter, however it was typed: surrounding
 * whitespace, composed or decomposed accents (macOS input is often NFD), and
 * letter case must not make a second identity.
 */

const encoder = new TextEncoder();

/** UTF-8 length without Node's Buffer: this package also runs in browsers. */
function utf8Bytes(text: string): number {
  return encoder.encode(text).length;
}

/** RFC 5321: a forward path is at most 256 octets including `<` and `>`. */
export const EMAIL_MAX_BYTES = 254;
/** Raw input longer than this is refused before any normalisation work. */
const EMAIL_MAX_RAW_LENGTH = 1024;

/**
 * Trims, composes (Unicode NFC) and lower-cases. Lower-casing can itself
 * produce a decomposed sequence (`'İ'.toLowerCase()` is `i` + U+0307), so the
 * result is composed again; the function is idempotent.
 */
export function normaliseEmail(raw: string): string {
  return raw.trim().normalize('NFC').toLowerCase().normalize('NFC');
}

// Local part: RFC 5322 atext extended to Unicode letters, marks and digits
// (RFC 6531), dot-separated, no leading, trailing or doubled dot. Quoted local
// parts are not accepted. Domain: at least two labels of letters, marks, digits
// and inner hyphens (IDNs in Unicode form), each at most 63 characters; the
// top-level label is not all digits. No IP-literal domains.
const LOCAL_ATOM = "[\\p{L}\\p{M}\\p{N}!#$%&'*+/=?^_`{|}~-]+";
const DOMAIN_LABEL = '[\\p{L}\\p{M}\\p{N}](?:[\\p{L}\\p{M}\\p{N}-]{0,61}[\\p{L}\\p{M}\\p{N}])?';
const EMAIL_SHAPE = new RegExp(
  `^${LOCAL_ATOM}(?:\\.${LOCAL_ATOM})*@(?:${DOMAIN_LABEL}\\.)+(?=[\\p{L}\\p{M}\\p{N}-]*[\\p{L}\\p{M}])${DOMAIN_LABEL}$`,
  'u',
);
/** Control, format (zero-width, bidi overrides), surrogate, private-use and unassigned code points. */
const INVISIBLE_OR_CONTROL = /\p{C}/u;

/** Whether an already normalised address has an acceptable shape. */
export function isValidEmail(normalised: string): boolean {
  if (utf8Bytes(normalised) > EMAIL_MAX_BYTES) return false;
  if (INVISIBLE_OR_CONTROL.test(normalised)) return false;
  const at = normalised.lastIndexOf('@');
  // RFC 5321: a local part is at most 64 octets.
  if (at < 1 || utf8Bytes(normalised.slice(0, at)) > 64) return false;
  return EMAIL_SHAPE.test(normalised);
}

/**
 * An email address in a request body: normalised (see `normaliseEmail`), then
 * validated: at most 254 UTF-8 bytes, a plausible `local@domain` shape, no
 * control or invisible characters. The parsed value is the normalised string.
 */
export const Email = z
  .string()
  .max(EMAIL_MAX_RAW_LENGTH, `must be at most ${EMAIL_MAX_BYTES} characters`)
  .transform(normaliseEmail)
  .refine((value) => utf8Bytes(value) <= EMAIL_MAX_BYTES, {
    message: `must be at most ${EMAIL_MAX_BYTES} characters`,
    abort: true,
  })
  .refine(isValidEmail, { message: 'must be an email address like name@example.com' })
  .meta({ description: 'An email address; trimmed, Unicode NFC and lower-cased by the server' });
export type Email = z.infer<typeof Email>;
