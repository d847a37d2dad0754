import { createHash, randomBytes } from 'node:crypto';
import type { Database, Transaction } from '../../db/client.js';

export type EmailTokenPurpose = 'verify_email' | 'reset_password';

/** The longest window a per-account sending limit looks back over (one hour). */
export const LIMIT_WINDOW_MS = 3600_000;

const hashOf = (token: string) => new Uint8Array(createHash('sha256').update(token, 'utf8').digest());

/**
 * Single-use tokens sent by email: 256 random bits, stored only as their
 * SHA-256, bound to one purpose and to the address they were mailed to.
 * Spending one is a single conditional UPDATE, so two concurrent uses of the
 * same token cannot both succeed.
 */
export function createEmailTokens(deps: { db: Database; now: () => Date }) {
  const { db, now } = deps;

  return {
    hashOf,

    async issue(
      input: { userId: string; email: string; purpose: EmailTokenPurpose; ttlSeconds: number },
      tx: Transaction | Database = db,
    ): Promise<string> {
      const token = randomBytes(32).toString('base64url');
      const at = now();
      await tx.emailToken.create({
        data: {
          userId: input.userId,
          email: input.email,
          purpose: input.purpose,
          tokenHash: hashOf(token),
          createdAt: at,
          expiresAt: new Date(at.getTime() + input.ttlSeconds * 1000),
        },
      });
      return token;
    },

    /**
     * Spends a token: unknown, used, expired, of another purpose, or mailed to
     * an address the account no longer has, all give null. `tx` lets the
     * caller make the spending part of its own change.
     */
    async spend(
      purpose: EmailTokenPurpose,
      token: string,
      tx: Transaction | Database = db,
    ): Promise<{ userId: string; email: string } | null> {
      const at = now();
      const rows = await tx.$queryRaw<Array<{ user_id: string; email: string }>>`
        UPDATE email_tokens AS t SET used_at = ${at}
        FROM users AS u
        WHERE t.token_hash = ${hashOf(token)}
          AND t.purpose = ${purpose}::email_token_purpose
          AND t.used_at IS NULL
          AND t.expires_at > ${at}
          AND u.id = t.user_id
          AND u.email = t.email
        RETURNING t.user_id, t.email`;
      const row = rows[0];
      return row ? { userId: row.user_id, email: row.email } : null;
    },

    /** Spends every unused token of this purpose (after a reset, the other reset codes die). */
    async spendAll(
      userId: string,
      purpose: EmailTokenPurpose,
      tx: Transaction | Database = db,
    ): Promise<void> {
      await tx.emailToken.updateMany({ where: { userId, purpose, usedAt: null }, data: { usedAt: now() } });
    },

    /** How many tokens of this purpose were mailed to the user since `since` (the per-account send limit). */
    sentSince(userId: string, purpose: EmailTokenPurpose, since: Date): Promise<number> {
      return db.emailToken.count({ where: { userId, purpose, createdAt: { gt: since } } });
    },

    /**
     * Deletes tokens that can never be spent again and no longer count
     * toward a per-hour sending limit: expired more than `LIMIT_WINDOW_MS`
     * ago. (Deleting a 30-minute reset code at its expiry would let the
     * hourly limit forget it after half an hour.)
     */
    async prune(): Promise<number> {
      const before = new Date(now().getTime() - LIMIT_WINDOW_MS);
      const { count } = await db.emailToken.deleteMany({ where: { expiresAt: { lt: before } } });
      return count;
    },
  };
}

export type EmailTokens = ReturnType<typeof createEmailTokens>;
