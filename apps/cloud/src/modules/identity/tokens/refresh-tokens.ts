import { createHash, createHmac, randomBytes } from 'node:crypto';

/**
 * Refresh tokens are 256 random bits, opaque to clients, and stored only as
 * their SHA-256. A rotated token's successor is derived, not drawn:
 * HMAC(key, parent). That lets the immediate retry of a just-used token (a
 * lost response) receive the very same successor again without the server
 * ever storing a usable token, and two racing refreshes end on one token.
 */
export function newRefreshToken(): string {
  return randomBytes(32).toString('base64url');
}

export function successorOf(parentToken: string, derivationKey: Buffer): string {
  return createHmac('sha256', derivationKey)
    .update('multiclaw refresh rotation v1\0')
    .update(parentToken)
    .digest('base64url');
}

/** As a plain Uint8Array: the form Prisma stores `Bytes` columns in. */
export function hashRefreshToken(token: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(createHash('sha256').update(token).digest());
}

/** A token we could have issued: 43 base64url characters (32 bytes). */
export function looksLikeRefreshToken(token: string): boolean {
  return /^[A-Za-z0-9_-]{43}$/.test(token);
}
