import type { Database } from '../../../db/client.js';
import type { AuditRecorder } from '../../audit/recorder.js';
import type { ClientContext, SessionService } from '../sessions/service.js';
import { revokeDevicesOfUnprovenHolder } from '../unproven-access.js';

/**
 * A provider asserts a verified address that an account holds without ever
 * having proved it. Whoever registered that account may not own the address
 * (account pre-hijacking: register the victim's email, wait for the victim to
 * sign in with SSO, share their account), so the provider's verified owner
 * wins: in one transaction, the account's password is removed, every session
 * ends (refresh tokens retired), every gateway it enrolled is revoked and
 * unused enrollment codes deleted, the address is marked verified, and the
 * identity is linked. Audited as `auth.sso.unverified_account_taken_over`.
 *
 * Returns false, changing nothing, if the account was verified meanwhile
 * (then the ordinary linking policy applies).
 */
export async function takeOverUnverifiedAccount(
  deps: { db: Database; audit: AuditRecorder; sessions: SessionService; now: () => Date },
  input: {
    userId: string;
    provider: string;
    identity: {
      provider: string;
      issuer: string;
      subject: string;
      email: string | null;
      emailVerified: boolean;
      lastLoginAt: Date;
    };
    client: ClientContext;
  },
): Promise<boolean> {
  const { db, audit, sessions, now } = deps;
  const { userId } = input;
  return db.$transaction(async (tx) => {
    const [user] = await tx.$queryRaw<Array<{ verified: boolean }>>`
      SELECT email_verified_at IS NOT NULL AS verified FROM users WHERE id = ${userId}::uuid FOR UPDATE`;
    if (!user || user.verified) return false;
    const at = now();
    const password = await tx.passwordCredential.deleteMany({ where: { userId } });
    const ended = await sessions.revokeAllOf(userId, 'sso_took_over_unverified_account', { tx });
    const gatewaysRevoked = await revokeDevicesOfUnprovenHolder(tx, userId, at);
    await tx.emailToken.updateMany({ where: { userId, usedAt: null }, data: { usedAt: at } });
    await tx.user.update({ where: { id: userId }, data: { emailVerifiedAt: at } });
    const linked = await tx.externalIdentity.create({
      data: { userId, ...input.identity },
      select: { id: true },
    });
    await audit.record(
      {
        action: 'auth.sso.unverified_account_taken_over',
        actorId: userId,
        targetType: 'external_identity',
        targetId: linked.id,
        metadata: {
          provider: input.provider,
          issuer: input.identity.issuer,
          passwordRemoved: password.count > 0,
          sessionsEnded: ended.length,
          gatewaysRevoked,
        },
        ...input.client,
      },
      tx,
    );
    return true;
  });
}
