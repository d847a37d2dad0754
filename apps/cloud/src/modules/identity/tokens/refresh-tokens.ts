import { createHash, createHmac, hkdfSync, type KeyObject, randomBytes } from 'node:crypto';

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

/**
 * The key `successorOf` uses: HKDF-SHA256 over the active master key, with an
 * empty salt and the info "multiclaw refresh-token rotation", 32 bytes. Every
 * server must use the same key (a retried refresh may reach another one), so
 * it cannot be drawn at start-up; why it is derived rather than configured is
 * said where it is wired (app.ts).
 */
export function refreshKeyFromMasterKey(masterKey: KeyObject): Buffer {
  return Buffer.from(
    hkdfSync('sha256', masterKey.export(), Buffer.alloc(0), 'multiclaw refresh-token rotation', 32),
  );
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
