import { isValidEmail, normaliseEmail } from '@multiclaw/protocol';
import type { Database } from '../../../db/client.js';
import { isUniqueViolation } from '../../../db/write-helpers.js';
import type { AuditRecorder } from '../../audit/recorder.js';
import type { ClientContext, SessionService } from '../sessions/service.js';
import type { OidcProviderConfig } from './config.js';
import { FlowFailure } from './flow-failure.js';
import type { VerifiedClaims } from './provider-client.js';
import { takeOverUnverifiedAccount } from './unverified-takeover.js';

/** Maps a verified identity from a provider to one of our users: sign in, link, or create. */
export function createAccountResolver(deps: {
  db: Database;
  audit: AuditRecorder;
  sessions: SessionService;
  now: () => Date;
}) {
  const { db, audit, now } = deps;

  /**
   * Who this verified identity is, as one of our users:
   * - an identity seen before (same issuer and subject) signs in to its user,
   *   whatever email it asserts now;
   * - otherwise the provider must assert a verified email (`email_verified: true`);
   * - an account with that email exists but never proved the address: the
   *   provider's verified owner takes it over (unverified-takeover.ts),
   *   whatever the linking policy;
   * - an account with that verified email exists: linked only when the
   *   provider's `linkVerifiedEmail` policy is on, else refused (never a duplicate);
   * - no such account: a new one, with no password.
   */
  async function resolveUser(
    provider: OidcProviderConfig,
    claims: VerifiedClaims,
    client: ClientContext,
  ): Promise<string> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await resolveUserOnce(provider, claims, client);
      } catch (error) {
        // A concurrent first sign-in created the identity or the account
        // between our read and our write: look again, once.
        if (attempt === 0 && isUniqueViolation(error)) continue;
        throw error;
      }
    }
  }

  async function resolveUserOnce(
    provider: OidcProviderConfig,
    claims: VerifiedClaims,
    client: ClientContext,
  ): Promise<string> {
    const at = now();
    const asserted = { email: claims.email ?? null, emailVerified: claims.emailVerified, lastLoginAt: at };
    const identity = await db.externalIdentity.findUnique({
      where: { issuer_subject: { issuer: claims.issuer, subject: claims.subject } },
      select: { id: true, userId: true },
    });
    if (identity) {
      await db.externalIdentity.update({ where: { id: identity.id }, data: asserted });
      return identity.userId;
    }

    const email = claims.email === undefined ? undefined : normaliseEmail(claims.email);
    if (!email || !isValidEmail(email) || !claims.emailVerified) {
      const reason = !email
        ? 'email_missing'
        : !claims.emailVerified
          ? 'email_not_verified'
          : 'email_invalid';
      throw new FlowFailure(
        'OIDC_EMAIL_NOT_VERIFIED',
        reason,
        'The identity provider did not confirm a verified email address for this account',
      );
    }

    const newIdentity = {
      provider: provider.name,
      issuer: claims.issuer,
      subject: claims.subject,
      ...asserted,
    };
    const existing = await db.user.findUnique({
      where: { email },
      select: { id: true, emailVerifiedAt: true },
    });
    if (
      existing &&
      !existing.emailVerifiedAt &&
      (await takeOverUnverifiedAccount(deps, {
        userId: existing.id,
        provider: provider.name,
        identity: newIdentity,
        client,
      }))
    ) {
      return existing.id;
    }
    if (existing) {
      if (!provider.linkVerifiedEmail) {
        throw new FlowFailure(
          'OIDC_ACCOUNT_EXISTS',
          'account_exists',
          'An account with this email address already exists. Sign in to it with your password.',
          { userId: existing.id },
        );
      }
      const linked = await db.externalIdentity.create({
        data: { userId: existing.id, ...newIdentity },
        select: { id: true },
      });
      await audit.record({
        action: 'auth.sso.linked',
        actorId: existing.id,
        targetType: 'external_identity',
        targetId: linked.id,
        metadata: { provider: provider.name, issuer: claims.issuer, via: 'verified_email' },
        ...client,
      });
      return existing.id;
    }

    const name = claims.name?.trim().slice(0, 100) || null;
    const created = await db.user.create({
      data: { email, name, emailVerifiedAt: at, externalIdentities: { create: newIdentity } },
      select: { id: true },
    });
    await audit.record({
      action: 'auth.registered',
      actorId: created.id,
      targetType: 'user',
      targetId: created.id,
      metadata: { method: 'oidc', provider: provider.name },
      ...client,
    });
    return created.id;
  }

  return resolveUser;
}

export type ResolveUser = ReturnType<typeof createAccountResolver>;
