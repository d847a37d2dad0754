import { ApiError } from '@multiclaw/protocol';
import { type Database, sqlOf } from '../../db/client.js';
import { isUniqueViolation } from '../../db/write-helpers.js';
import type { AuditRecorder } from '../audit/recorder.js';
import { createPasswordCheck } from './lockout/password-check.js';
import { type LoginThrottle, throttleKey } from './lockout/service.js';
import type { PasswordHasher } from './passwords/hashing.js';
import { type PublicUser, publicUserSelect, toPublicUser } from './public-user.js';
import type { ClientContext, SessionService, TokenPair } from './sessions/service.js';
import type { EmailVerification } from './verification.js';

export type { PublicUser } from './public-user.js';

type PasswordPolicy = (
  password: string,
  context?: { email?: string },
) => { ok: true } | { ok: false; code: string; message: string };

type SignInUserRow = {
  id: string;
  email: string;
  name: string | null;
  email_verified_at: Date | null;
  hash: string | null;
};

const SIGN_IN_USER = `SELECT u.id, u.email, u.name, u.email_verified_at, p.hash
  FROM users u LEFT JOIN password_credentials p ON p.user_id = u.id WHERE u.email = $1`;

const INVALID_CREDENTIALS = () =>
  new ApiError('AUTH_INVALID_CREDENTIALS', 'The email or password is incorrect');

function refusePassword(policy: PasswordPolicy, password: string, email: string, field: string): void {
  const verdict = policy(password, { email });
  if (!verdict.ok) {
    throw new ApiError('VALIDATION_FAILED', verdict.message, {
      issues: [{ path: field, message: verdict.message }],
    });
  }
}

/**
 * Accounts: registration (which mails a verification code), password sign-in
 * and password change, both under the per-account lockout. Emails arrive
 * already normalised (the routes do it).
 */
export function createAccountService(deps: {
  db: Database;
  hasher: PasswordHasher;
  throttle: LoginThrottle;
  policy: PasswordPolicy;
  sessions: SessionService;
  audit: AuditRecorder;
  verification: Pick<EmailVerification, 'send'>;
}) {
  const { db, hasher, throttle, policy, sessions, audit, verification } = deps;

  const passwords = createPasswordCheck({ hasher, throttle, audit });
  const sql = sqlOf(db);

  /** The account and its password hash in one statement (node-postgres: this runs on every sign-in). */
  async function findSignInUser(email: string) {
    const { rows } = await sql.query<SignInUserRow>(SIGN_IN_USER, [email]);
    return rows[0];
  }

  return {
    async register(
      input: { email: string; password: string; name?: string | undefined },
      client: ClientContext,
    ) {
      refusePassword(policy, input.password, input.email, 'body.password');
      const hash = await hasher.hash(input.password);
      try {
        const user = await db.user.create({
          data: { email: input.email, name: input.name ?? null, password: { create: { hash } } },
          select: publicUserSelect,
        });
        await audit.record({
          action: 'auth.registered',
          actorId: user.id,
          targetType: 'user',
          targetId: user.id,
          ...client,
        });
        await verification.send(user);
        return toPublicUser(user);
      } catch (error) {
        if (isUniqueViolation(error)) {
          throw new ApiError('AUTH_EMAIL_TAKEN', 'An account with this email address already exists');
        }
        throw error;
      }
    },

    /**
     * Unknown email, wrong password and locked account take the same path:
     * one argon2 verification (a dummy one when there is nothing to verify)
     * and the same error, so neither the answer nor its timing tells them apart.
     */
    async login(
      input: { email: string; password: string },
      client: ClientContext,
    ): Promise<TokenPair & { user: PublicUser }> {
      // Counted as a failure before the password is checked, atomically, so a
      // parallel burst cannot slip more than the threshold past the lock; a
      // correct password undoes the count.
      const [attempt, user] = await Promise.all([
        throttle.beginAttempt(input.email),
        findSignInUser(input.email),
      ]);
      const phc = user?.hash ?? undefined;
      const passwordMatches = await passwords.accepted(attempt, phc, input.password);
      if (!attempt.allowed || !user || !passwordMatches) {
        const reason = !attempt.allowed ? 'locked' : !user ? 'unknown_account' : 'wrong_password';
        await audit.record({
          action: attempt.allowed ? 'auth.login.failed' : 'auth.login.refused_locked',
          actorId: user?.id,
          metadata: { reason },
          ...client,
        });
        if (user) await passwords.auditLockStarted(attempt, user.id, client);
        throw INVALID_CREDENTIALS();
      }
      if (phc && hasher.needsRehash(phc)) {
        await db.passwordCredential.update({
          where: { userId: user.id },
          data: { hash: await hasher.hash(input.password) },
        });
      }
      // The lockout row cleared, the session, its refresh token and the audit entry: one statement.
      const session = await sessions.startSignIn(user.id, client, {
        throttleKey: throttleKey(input.email),
        auditFor: (sessionId) => ({
          action: 'auth.login.succeeded',
          actorId: user.id,
          targetType: 'session',
          targetId: sessionId,
          ...client,
        }),
      });
      return {
        accessToken: session.accessToken,
        refreshToken: session.refreshToken,
        expiresIn: session.expiresIn,
        user: toPublicUser({
          id: user.id,
          email: user.email,
          name: user.name,
          emailVerifiedAt: user.email_verified_at,
        }),
      };
    },

    /**
     * Requires the current password, checked under the same lockout as
     * sign-in (a stolen session must not become a way to guess the password
     * without limit); ends every other session of the user.
     */
    async changePassword(
      principal: { userId: string; sessionId: string },
      input: { currentPassword: string; newPassword: string },
      client: ClientContext,
    ): Promise<void> {
      const user = await db.user.findUnique({
        where: { id: principal.userId },
        select: { email: true, password: { select: { hash: true } } },
      });
      if (!user) throw new ApiError('UNAUTHENTICATED', 'The account no longer exists');
      const attempt = await throttle.beginAttempt(user.email);
      if (!(await passwords.accepted(attempt, user.password?.hash, input.currentPassword))) {
        await audit.record({
          action: 'auth.password.change_failed',
          actorId: principal.userId,
          metadata: { reason: attempt.allowed ? 'wrong_password' : 'locked' },
          ...client,
        });
        await passwords.auditLockStarted(attempt, principal.userId, client);
        throw INVALID_CREDENTIALS();
      }
      await throttle.recordSuccess(user.email);
      refusePassword(policy, input.newPassword, user.email, 'body.newPassword');
      await db.passwordCredential.update({
        where: { userId: principal.userId },
        data: { hash: await hasher.hash(input.newPassword) },
      });
      const ended = await sessions.revokeAllOf(principal.userId, 'password_changed', {
        except: principal.sessionId,
      });
      await audit.record({
        action: 'auth.password.changed',
        actorId: principal.userId,
        targetType: 'user',
        targetId: principal.userId,
        metadata: { sessionsEnded: ended.length },
        ...client,
      });
    },

    async me(userId: string): Promise<PublicUser> {
      const user = await db.user.findUnique({
        where: { id: userId },
        select: publicUserSelect,
      });
      if (!user) throw new ApiError('UNAUTHENTICATED', 'The account no longer exists');
      return toPublicUser(user);
    },
  };
}

export type AccountService = ReturnType<typeof createAccountService>;
