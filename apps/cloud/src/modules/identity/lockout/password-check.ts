import type { AuditRecorder } from '../../audit/recorder.js';
import type { PasswordHasher } from '../passwords/hashing.js';
import type { ClientContext } from '../sessions/service.js';
import type { AttemptResult, LoginThrottle } from './service.js';

/**
 * The one way a password a person types is checked — sign-in, password
 * change, account deletion — so that each is one more guess against the same
 * per-account lockout: a stolen access token must not become an unthrottled
 * password oracle. With a lock in force, or no hash to check, a dummy hash is
 * verified instead, so the work and the answer look the same.
 */
export function createPasswordCheck(deps: {
  hasher: Pick<PasswordHasher, 'verify' | 'verifyDummy'>;
  throttle: Pick<LoginThrottle, 'beginAttempt' | 'recordSuccess'>;
  audit: AuditRecorder;
}) {
  const { hasher, throttle, audit } = deps;

  /** Verifies `password` for an attempt already begun (sign-in begins it alongside the user lookup). */
  async function accepted(attempt: AttemptResult, phc: string | undefined, password: string) {
    return attempt.allowed && phc ? hasher.verify(phc, password) : hasher.verifyDummy(password);
  }

  /** Audits the lock a failed attempt started, if it started one. */
  async function auditLockStarted(
    attempt: AttemptResult,
    userId: string,
    client: Partial<ClientContext> = {},
  ) {
    if (!attempt.allowed || !attempt.lockedUntil) return;
    await audit.record({
      action: 'auth.lockout',
      actorId: userId,
      targetType: 'user',
      targetId: userId,
      metadata: { lockedUntil: attempt.lockedUntil.toISOString() },
      ...client,
    });
  }

  /** The whole check for a known account: begin the attempt, verify, count a success or audit a lock. */
  async function check(input: {
    userId: string;
    email: string;
    phc: string | undefined;
    password: string;
    client?: Partial<ClientContext>;
  }): Promise<{ accepted: boolean; attempt: AttemptResult }> {
    const attempt = await throttle.beginAttempt(input.email);
    const ok = await accepted(attempt, input.phc, input.password);
    if (ok) await throttle.recordSuccess(input.email);
    else await auditLockStarted(attempt, input.userId, input.client);
    return { accepted: ok, attempt };
  }

  return { accepted, auditLockStarted, check };
}

export type PasswordCheck = ReturnType<typeof createPasswordCheck>;
