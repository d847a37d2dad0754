import { createHash, randomInt } from 'node:crypto';

/** No 0/O, 1/I: a person reads the code off one screen and types it into another. */
const ALPHABET = '23456789ABCDEFGHJKLMNPQRSTUVWXYZ';
export const PAIRING_CODE_TTL_MS = 5 * 60_000;
/** Wrong codes tolerated while codes are open; one more burns them all (40 bits against 10 guesses). */
export const MAX_WRONG_CODES = 10;

/** `XXXX-XXXX`: 40 random bits, 9 characters. */
export const PAIRING_CODE = /^[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}$/;

/**
 * The short-lived codes that let the extension's popup pair (docs/extension.md):
 * held in memory only (a restart forgets them), hashed, single use, 5 minutes.
 * Guessing is bounded: after MAX_WRONG_CODES wrong codes every open code is
 * burned and the person asks for a new one.
 */
export class PairingCodes {
  private readonly open = new Map<string, number>();
  private wrong = 0;

  constructor(private readonly now: () => number = Date.now) {}

  issue(): { code: string; expiresAt: string } {
    const raw = Array.from({ length: 8 }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
    const code = `${raw.slice(0, 4)}-${raw.slice(4)}`;
    const expiresAt = this.now() + PAIRING_CODE_TTL_MS;
    this.open.set(hashOf(code), expiresAt);
    return { code, expiresAt: new Date(expiresAt).toISOString() };
  }

  /** True once per issued code, before it expires; anything else counts as a wrong guess. */
  redeem(presented: string): boolean {
    this.dropExpired();
    const key = hashOf(normalise(presented));
    if (this.open.delete(key)) return true;
    this.wrong += 1;
    if (this.wrong > MAX_WRONG_CODES) {
      this.open.clear();
      this.wrong = 0;
    }
    return false;
  }

  private dropExpired(): void {
    for (const [key, expiresAt] of this.open) if (expiresAt <= this.now()) this.open.delete(key);
    if (this.open.size === 0) this.wrong = 0;
  }
}

/** What a person may type: lower case, spaces, the dash left out. */
function normalise(code: string): string {
  const compact = code.toUpperCase().replace(/[\s-]/g, '');
  return compact.length === 8 ? `${compact.slice(0, 4)}-${compact.slice(4)}` : compact;
}

const hashOf = (code: string) => createHash('sha256').update(code).digest('hex');
