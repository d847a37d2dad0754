/**
 * Whether a field's value must never leave the page (docs/extension.md):
 * passwords, one-time codes, card data by `autocomplete`, and fields whose
 * name, id, label or placeholder says card, cvv, ssn, token, secret and the
 * like. Conservative on purpose: masking a harmless field costs a step's
 * detail; missing a sensitive one leaks it.
 */
export interface FieldFacts {
  tag: string;
  type: string;
  autocomplete: string;
  /** name, id, aria-label, placeholder and label text, as found. */
  names: string[];
}

const SENSITIVE_TYPES = new Set(['password', 'file', 'hidden']);
const SENSITIVE_NAME =
  /pass(word|wd|code|phrase)?|pwd|card|cc-?(num|number|exp|csc|cvc)|cvv|cvc|csc|ssn|social.?security|token|secret|otp|one.?time|2fa|mfa|pin(code)?\b|\bpin|iban|account.?(number|no)|routing|api.?key|private.?key|security.?(code|answer)|tax.?id|passport/i;

export function isSensitiveField(field: FieldFacts): boolean {
  if (SENSITIVE_TYPES.has(field.type.toLowerCase())) return true;
  const autocomplete = field.autocomplete.toLowerCase();
  if (/(^|\s)(cc-|one-time-code|current-password|new-password)/.test(autocomplete)) return true;
  return field.names.some((name) => SENSITIVE_NAME.test(name));
}

/**
 * A URL as a step may carry it: the values of query parameters whose names
 * look sensitive (a GET form's password field, an OAuth code or token) are
 * replaced by `[masked]`.
 */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url;
  }
  let changed = false;
  for (const key of [...new Set(parsed.searchParams.keys())]) {
    if (SENSITIVE_NAME.test(key) || /^(code|state|auth|session|sid|key)$/i.test(key)) {
      parsed.searchParams.set(key, '[masked]');
      changed = true;
    }
  }
  if (/(access_token|id_token|token)=/i.test(parsed.hash)) {
    parsed.hash = '#[masked]';
    changed = true;
  }
  return changed ? parsed.toString() : url;
}
