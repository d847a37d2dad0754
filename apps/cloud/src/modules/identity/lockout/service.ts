import { EMAIL_MAX_BYTES, normaliseEmail } from '@multiclaw/protocol';
import { type Database, sqlOf } from '../../../db/client.js';
import { Prisma } from '../../../generated/prisma/client.js';

/**
 * Temporary per-account lockout after repeated failed sign-ins, on the
 * `login_throttles` table (one row per normalised email, known or not, so an
 * unknown address takes the same path as a real one).
 *
 * Rules, as built:
 * - `threshold` consecutive counted failures lock the address for
 *   `baseLockSeconds × 2^lockoutCount`, capped at `maxLockSeconds`
 *   (defaults 5, 60 s, 900 s: 1, 2, 4, 8, then 15 minutes). The count starts
 *   again at zero when a lock starts, so each lock is earned by `threshold`
 *   new failures.
 * - While a lock is in force, failures are neither counted nor extend it:
 *   an attacker cannot keep a person locked out longer than `maxLockSeconds`
 *   past their last counted failure, and the lock is never permanent.
 * - A success deletes the row: the failure count and the escalation
 *   (`lockoutCount`) both start again from zero.
 * - Failures expire: once `failureWindowSeconds` pass with no counted
 *   failure and no lock in force, the count and the escalation are forgotten
 *   (a quiet period, measured from the last counted failure or the end of the
 *   last lock, whichever is later). Choose `failureWindowSeconds` ≥
 *   `maxLockSeconds`, so that waiting out the window is never cheaper for an
 *   attacker than the capped lock.
 * - Case and Unicode variants of an address share one row (the service
 *   normalises, whatever the caller did).
 *
 * Every change is one atomic `INSERT … ON CONFLICT DO UPDATE … RETURNING`
 * computed from the row as it is under the row lock, so N concurrent failures
 * count exactly N (up to the lock) and two concurrent requests cannot both
 * start a lock. Times come from the injected clock, never from the database.
 */

export type LoginThrottlePolicy = {
  /** Consecutive failures that start a lock. */
  threshold: number;
  /** Length of the first lock, in seconds; each further lock doubles it. */
  baseLockSeconds: number;
  /** No lock is ever longer than this. */
  maxLockSeconds: number;
  /** Quiet period after which counted failures and the escalation expire. */
  failureWindowSeconds: number;
};

export const DEFAULT_LOGIN_THROTTLE_POLICY: LoginThrottlePolicy = Object.freeze({
  threshold: 5,
  baseLockSeconds: 60,
  maxLockSeconds: 900,
  failureWindowSeconds: 900,
});

export type FailureResult = {
  /** The lock in force after this failure, if any (new or pre-existing). */
  lockedUntil?: Date;
  /** False when the address was already locked: the failure was ignored. */
  counted: boolean;
  /** True when this failure started a lock (for the `auth.lockout` audit event). */
  lockoutStarted: boolean;
};

export type AttemptResult =
  | { allowed: true /** Set when this attempt started a lock for the ones after it. */; lockedUntil?: Date }
  | { allowed: false; retryAt: Date };

export type LoginThrottle = {
  /** Whether the address is locked now. Read-only. */
  check(email: string): Promise<{ locked: boolean; retryAt?: Date }>;
  /** Counts one failed sign-in (ignored while locked). */
  recordFailure(email: string): Promise<FailureResult>;
  /** A successful sign-in: forgets the failures and the escalation. */
  recordSuccess(email: string): Promise<void>;
  /**
   * Check-and-count in one atomic step, *before* verifying the password:
   * the attempt is counted as a failure up front and `recordSuccess` undoes
   * it when the password was right. Unlike `check` followed by
   * `recordFailure`, a burst of parallel attempts cannot all pass the check
   * before the first failure is recorded: exactly `threshold` get through.
   */
  beginAttempt(email: string): Promise<AttemptResult>;
  /** Deletes rows whose failures expired and that hold no lock; returns how many. */
  prune(): Promise<number>;
};

type ThrottleRow = { locked_until: Date | null };

function requireInteger(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(`login throttle: ${name} must be an integer ≥ ${min} (got ${value})`);
  }
}

function validatePolicy(policy: LoginThrottlePolicy): void {
  requireInteger('threshold', policy.threshold, 1);
  requireInteger('baseLockSeconds', policy.baseLockSeconds, 1);
  requireInteger('maxLockSeconds', policy.maxLockSeconds, policy.baseLockSeconds);
  requireInteger('failureWindowSeconds', policy.failureWindowSeconds, 1);
}

/** The row key of an address: its normalised form (refused when it cannot be an address). */
export function throttleKey(email: string): string {
  const key = normaliseEmail(email);
  if (key === '' || Buffer.byteLength(key, 'utf8') > EMAIL_MAX_BYTES) {
    throw new RangeError('login throttle: not an email address (empty or over 254 bytes)');
  }
  return key;
}

/** Doublings beyond this change nothing (2^30 s is decades) and keep the arithmetic finite. */
const MAX_DOUBLINGS = 30;
/** `lockout_count` stops growing here; any value past MAX_DOUBLINGS means "the cap". */
const MAX_LOCKOUT_COUNT = 1000;

export function createLoginThrottle(deps: {
  db: Database;
  now: () => Date;
  policy: LoginThrottlePolicy;
}): LoginThrottle {
  const { db, now } = deps;
  const sql = sqlOf(db);
  const policy = { ...deps.policy };
  validatePolicy(policy);
  const { threshold, baseLockSeconds, maxLockSeconds, failureWindowSeconds } = policy;

  /** One counted failure, or nothing if locked: returns the row after the change, or null if locked. */
  async function countFailure(email: string, at: Date): Promise<ThrottleRow | null> {
    // A brand-new row is the first failure of a fresh streak.
    const firstLocks = threshold <= 1;
    const firstLockedUntil = firstLocks
      ? new Date(at.getTime() + Math.min(baseLockSeconds, maxLockSeconds) * 1000)
      : null;
    // Straight on node-postgres: every sign-in runs it, and Prisma's own cost would double its time.
    const statement = Prisma.sql`
      INSERT INTO login_throttles AS t
        (email, consecutive_failures, window_started_at, last_failure_at, locked_until, lockout_count, updated_at)
      VALUES (
        ${email}, ${firstLocks ? 0 : 1}::int, ${at}::timestamptz, ${at}::timestamptz,
        ${firstLockedUntil}::timestamptz, ${firstLocks ? 1 : 0}::int, ${at}::timestamptz
      )
      ON CONFLICT (email) DO UPDATE SET
        (consecutive_failures, window_started_at, last_failure_at, locked_until, lockout_count, updated_at) = (
          SELECT
            CASE WHEN s.hit THEN 0 ELSE s.previous_failures + 1 END,
            CASE WHEN s.previous_failures = 0 THEN s.at ELSE t.window_started_at END,
            s.at,
            CASE WHEN s.hit THEN s.at + make_interval(secs => least(
              ${maxLockSeconds}::double precision,
              ${baseLockSeconds}::double precision * power(2, least(s.previous_lockouts, ${MAX_DOUBLINGS}::int))
            )) END,
            CASE WHEN s.hit THEN least(s.previous_lockouts + 1, ${MAX_LOCKOUT_COUNT}::int) ELSE s.previous_lockouts END,
            s.at
          FROM (
            SELECT f.*, f.previous_failures + 1 >= ${threshold}::int AS hit
            FROM (
              SELECT
                e.at,
                CASE WHEN e.expired THEN 0 ELSE t.consecutive_failures END AS previous_failures,
                CASE WHEN e.expired THEN 0 ELSE t.lockout_count END AS previous_lockouts
              FROM (
                SELECT
                  ${at}::timestamptz AS at,
                  coalesce(
                    greatest(t.last_failure_at, t.locked_until)
                      <= ${at}::timestamptz - make_interval(secs => ${failureWindowSeconds}::double precision),
                    true
                  ) AS expired
              ) e
            ) f
          ) s
        )
      -- While locked: no change at all (not counted, not extended); no row is returned.
      WHERE t.locked_until IS NULL OR t.locked_until <= ${at}::timestamptz
      RETURNING t.locked_until`;
    const { rows } = await sql.query<ThrottleRow>(statement.text, statement.values);
    return rows[0] ?? null;
  }

  async function currentLock(email: string, at: Date): Promise<Date | undefined> {
    const row = await db.loginThrottle.findUnique({ where: { email }, select: { lockedUntil: true } });
    return row?.lockedUntil && row.lockedUntil > at ? row.lockedUntil : undefined;
  }

  async function recordFailure(rawEmail: string): Promise<FailureResult> {
    const email = throttleKey(rawEmail);
    // Rarely, the lock seen by the upsert is gone by the time it is read back
    // (it expired, or a success deleted the row): then count again.
    for (let tries = 0; tries < 3; tries += 1) {
      const at = now();
      const row = await countFailure(email, at);
      if (row) {
        return row.locked_until
          ? { counted: true, lockoutStarted: true, lockedUntil: row.locked_until }
          : { counted: true, lockoutStarted: false };
      }
      const lockedUntil = await currentLock(email, at);
      if (lockedUntil) return { counted: false, lockoutStarted: false, lockedUntil };
    }
    return { counted: false, lockoutStarted: false };
  }

  return {
    async check(rawEmail) {
      const lockedUntil = await currentLock(throttleKey(rawEmail), now());
      return lockedUntil ? { locked: true, retryAt: lockedUntil } : { locked: false };
    },

    recordFailure,

    async recordSuccess(rawEmail) {
      await db.loginThrottle.deleteMany({ where: { email: throttleKey(rawEmail) } });
    },

    async beginAttempt(rawEmail) {
      const result = await recordFailure(rawEmail);
      if (result.counted)
        return result.lockedUntil ? { allowed: true, lockedUntil: result.lockedUntil } : { allowed: true };
      return { allowed: false, retryAt: result.lockedUntil ?? now() };
    },

    async prune() {
      const cutoff = new Date(now().getTime() - failureWindowSeconds * 1000);
      const { count } = await db.loginThrottle.deleteMany({
        where: {
          AND: [
            { OR: [{ lockedUntil: null }, { lockedUntil: { lte: cutoff } }] },
            { OR: [{ lastFailureAt: null }, { lastFailureAt: { lte: cutoff } }] },
          ],
        },
      });
      return count;
    },
  };
}
