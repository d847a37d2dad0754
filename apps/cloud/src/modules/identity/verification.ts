import { ApiError } from '@multiclaw/protocol';
import type { Database } from '../../db/client.js';
import type { Mailer } from '../../mail/mailer.js';
import { emailVerificationMail } from '../../mail/messages.js';
import type { AuditRecorder } from '../audit/recorder.js';
import { type EmailTokens, LIMIT_WINDOW_MS } from './email-tokens.js';
import { type PublicUser, publicUserSelect, toPublicUser } from './public-user.js';
import type { ClientContext } from './sessions/service.js';

/** How long a verification code works. */
export const EMAIL_VERIFICATION_TTL_SECONDS = 24 * 3600;
/** Resend limit per account: at most this many codes per hour (LIMIT_WINDOW_MS), and one a minute. */
export const VERIFICATION_MAILS_PER_HOUR = 5;
const VERIFICATION_MIN_INTERVAL_SECONDS = 60;

/** `details.retryAfterSeconds` becomes the `Retry-After` header (email-routes.ts). */
const sentRecently = (seconds: number) =>
  new ApiError(
    'RATE_LIMITED',
    `A verification code was sent recently. Check your mail (and spam folder), or ask again in ${seconds} seconds.`,
    { retryAfterSeconds: seconds },
  );

/**
 * Proving an email address: a code mailed at registration (and on request),
 * spent by `verify`. Unverified accounts work as usual; what verification
 * changes is that single sign-on may link to the account (oidc/account-resolution.ts).
 */
export function createEmailVerification(deps: {
  db: Database;
  tokens: EmailTokens;
  mailer: Mailer;
  audit: AuditRecorder;
  publicUrl: string;
  now: () => Date;
}) {
  const { db, tokens, mailer, audit, publicUrl, now } = deps;

  async function send(user: { id: string; email: string }): Promise<void> {
    const token = await tokens.issue({
      userId: user.id,
      email: user.email,
      purpose: 'verify_email',
      ttlSeconds: EMAIL_VERIFICATION_TTL_SECONDS,
    });
    mailer.send(
      emailVerificationMail({
        to: user.email,
        token,
        publicUrl,
        ttlHours: EMAIL_VERIFICATION_TTL_SECONDS / 3600,
      }),
    );
  }

  return {
    send,

    /** Mails a fresh code, unless the address is verified already. Limited per account (429). */
    async resend(userId: string, client: ClientContext): Promise<void> {
      const user = await db.user.findUnique({
        where: { id: userId },
        select: { id: true, email: true, emailVerifiedAt: true },
      });
      if (!user) throw new ApiError('UNAUTHENTICATED', 'The account no longer exists');
      if (user.emailVerifiedAt) return;
      const at = now().getTime();
      const lastMinute = await tokens.sentSince(
        user.id,
        'verify_email',
        new Date(at - VERIFICATION_MIN_INTERVAL_SECONDS * 1000),
      );
      const lastHour = await tokens.sentSince(user.id, 'verify_email', new Date(at - LIMIT_WINDOW_MS));
      if (lastMinute > 0) throw sentRecently(VERIFICATION_MIN_INTERVAL_SECONDS);
      if (lastHour >= VERIFICATION_MAILS_PER_HOUR) throw sentRecently(LIMIT_WINDOW_MS / 1000);
      await send(user);
      await audit.record({
        action: 'auth.email.verification_sent',
        actorId: user.id,
        targetType: 'user',
        targetId: user.id,
        ...client,
      });
    },

    /** Spends a code: the account's address is verified from now on. */
    async verify(token: string, client: ClientContext): Promise<PublicUser> {
      const user = await db.$transaction(async (tx) => {
        const spent = await tokens.spend('verify_email', token, tx);
        if (!spent) {
          throw new ApiError(
            'EMAIL_VERIFICATION_TOKEN_INVALID',
            'This verification code is not valid (used, expired or unknown). Ask for a new one.',
          );
        }
        await tx.user.updateMany({
          where: { id: spent.userId, emailVerifiedAt: null },
          data: { emailVerifiedAt: now() },
        });
        await tokens.spendAll(spent.userId, 'verify_email', tx);
        await audit.record(
          {
            action: 'auth.email.verified',
            actorId: spent.userId,
            targetType: 'user',
            targetId: spent.userId,
            metadata: { via: 'emailed_code' },
            ...client,
          },
          tx,
        );
        return tx.user.findUniqueOrThrow({ where: { id: spent.userId }, select: publicUserSelect });
      });
      return toPublicUser(user);
    },
  };
}

export type EmailVerification = ReturnType<typeof createEmailVerification>;
