import { ApiError } from '@multiclaw/protocol';
import type { Database } from '../../db/client.js';
import type { Mailer } from '../../mail/mailer.js';
import { passwordResetMail } from '../../mail/messages.js';
import type { MailMessage } from '../../mail/transport.js';
import type { AuditRecorder } from '../audit/recorder.js';
import { type EmailTokens, LIMIT_WINDOW_MS } from './email-tokens.js';
import type { LoginThrottle } from './lockout/service.js';
import type { PasswordHasher } from './passwords/hashing.js';
import type { ClientContext, SessionService } from './sessions/service.js';
import { revokeDevicesOfUnprovenHolder } from './unproven-access.js';

/** How long a reset code works. */
export const PASSWORD_RESET_TTL_SECONDS = 30 * 60;
/** Reset mails per address per hour; requests beyond it are answered the same and send nothing. */
export const RESET_MAILS_PER_HOUR = 3;
/** Advisory-lock namespace for reset requests (two-int form); the second key is `hashtext(email)`. */
const RESET_LOCK_NAMESPACE = 0x72737470; // 'rstp'

type PasswordPolicy = (
  password: string,
  context?: { email?: string },
) => { ok: true } | { ok: false; code: string; message: string };

const invalidCode = () =>
  new ApiError(
    'PASSWORD_RESET_TOKEN_INVALID',
    'This reset code is not valid (used, expired or unknown). Ask for a new one.',
  );

/**
 * Password reset by mail. `requestReset` does no work in the request at all:
 * looking the address up, the per-address limit, the code and the mail all
 * happen in the background, so neither the answer nor its timing tells
 * whether the address has an account. Only accounts that have a password get
 * a code: an account made by single sign-on signs in at its provider, and a
 * mailbox must not add a second way in.
 */
export function createPasswordRecovery(deps: {
  db: Database;
  tokens: EmailTokens;
  mailer: Mailer;
  hasher: PasswordHasher;
  policy: PasswordPolicy;
  sessions: SessionService;
  throttle: LoginThrottle;
  audit: AuditRecorder;
  publicUrl: string;
  now: () => Date;
}) {
  const { db, tokens, mailer, hasher, policy, sessions, throttle, audit, publicUrl, now } = deps;

  /** The reset mail for `email`, or null (no password account, or its hourly limit reached). */
  function composeReset(email: string, client: ClientContext): Promise<MailMessage | null> {
    return db.$transaction(async (tx) => {
      // One request per address at a time, so parallel requests cannot all pass the limit.
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(${RESET_LOCK_NAMESPACE}::int4, hashtext(${email}))`;
      const hourAgo = new Date(now().getTime() - LIMIT_WINDOW_MS);
      const [user, recent] = await Promise.all([
        tx.user.findUnique({
          where: { email },
          select: { id: true, password: { select: { userId: true } } },
        }),
        tx.emailToken.count({ where: { email, purpose: 'reset_password', createdAt: { gt: hourAgo } } }),
      ]);
      if (!user?.password || recent >= RESET_MAILS_PER_HOUR) return null;
      const token = await tokens.issue(
        { userId: user.id, email, purpose: 'reset_password', ttlSeconds: PASSWORD_RESET_TTL_SECONDS },
        tx,
      );
      await audit.record(
        {
          action: 'auth.password.reset_requested',
          actorId: user.id,
          targetType: 'user',
          targetId: user.id,
          ...client,
        },
        tx,
      );
      return passwordResetMail({ to: email, token, publicUrl, ttlMinutes: PASSWORD_RESET_TTL_SECONDS / 60 });
    });
  }

  return {
    requestReset(email: string, client: ClientContext): void {
      mailer.sendComposed('password_reset', () => composeReset(email, client));
    },

    /**
     * Sets a new password with a mailed code and ends every session. The
     * policy is checked before the code is spent, so a refused password
     * leaves the code usable. The code proves the mailbox, so the address
     * counts as verified, and the lockout on it is lifted.
     */
    async reset(input: { token: string; password: string }, client: ClientContext): Promise<void> {
      const owner = await db.emailToken.findFirst({
        where: {
          tokenHash: tokens.hashOf(input.token),
          purpose: 'reset_password',
          usedAt: null,
          expiresAt: { gt: now() },
        },
        select: { email: true },
      });
      if (!owner) throw invalidCode();
      const verdict = policy(input.password, { email: owner.email });
      if (!verdict.ok) {
        throw new ApiError('VALIDATION_FAILED', verdict.message, {
          issues: [{ path: 'body.password', message: verdict.message }],
        });
      }
      const hash = await hasher.hash(input.password);
      const { userId, gatewaysRevoked } = await db.$transaction(async (tx) => {
        const spent = await tokens.spend('reset_password', input.token, tx);
        if (!spent) throw invalidCode();
        const before = await tx.user.findUniqueOrThrow({
          where: { id: spent.userId },
          select: { emailVerifiedAt: true },
        });
        // An unproven account is now claimed by the mailbox's owner: cut off what its holder enrolled.
        const revoked = before.emailVerifiedAt
          ? 0
          : await revokeDevicesOfUnprovenHolder(tx, spent.userId, now());
        await tx.passwordCredential.upsert({
          where: { userId: spent.userId },
          create: { userId: spent.userId, hash },
          update: { hash },
        });
        await tokens.spendAll(spent.userId, 'reset_password', tx);
        await tx.user.updateMany({
          where: { id: spent.userId, emailVerifiedAt: null },
          data: { emailVerifiedAt: now() },
        });
        return { userId: spent.userId, gatewaysRevoked: revoked };
      });
      const ended = await sessions.revokeAllOf(userId, 'password_reset');
      await throttle.recordSuccess(owner.email);
      await audit.record({
        action: 'auth.password.reset',
        actorId: userId,
        targetType: 'user',
        targetId: userId,
        metadata: { sessionsEnded: ended.length, gatewaysRevoked },
        ...client,
      });
    },
  };
}

export type PasswordRecovery = ReturnType<typeof createPasswordRecovery>;
