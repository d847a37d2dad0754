import { ApiError } from '@multiclaw/protocol';
import type { Database } from '../../db/client.js';
import type { BusMessage } from '../../events/event-bus.js';
import type { EventPublisher } from '../../events/publisher.js';
import type { AuditRecorder } from '../audit/recorder.js';
import { decryptMessages, storedMessageSelect } from '../transcripts/message-content.js';
import type { VaultCrypto } from '../vault/contract.js';
import { after, lockWorkspaces } from '../workspaces/owner-guard.js';
import { createPasswordCheck } from './lockout/password-check.js';
import type { LoginThrottle } from './lockout/service.js';
import type { PasswordHasher } from './passwords/hashing.js';

/** Accounts without a password re-authenticate by having signed in this recently. */
const RECENT_SIGN_IN_MS = 5 * 60 * 1000;

/** JSON-safe copy of a row: dates as ISO strings, bytes as base64, bigints as strings. */
function plain(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, plain(inner)]));
  }
  return value;
}

const rows = (list: object[]) => list.map((row) => plain(row) as Record<string, unknown>);

/**
 * The user's own data: export everything the cloud holds about them, and
 * delete the account. Hashes of credentials are never exported.
 */
export function createPrivacyService(deps: {
  db: Database;
  hasher: Pick<PasswordHasher, 'verify' | 'verifyDummy'>;
  /** The sign-in lockout: a password typed here is one more guess at the same account. */
  throttle: Pick<LoginThrottle, 'beginAttempt' | 'recordSuccess'>;
  audit: AuditRecorder;
  /** Transcript content is stored encrypted: the export decrypts the person's own. */
  crypto: Pick<VaultCrypto, 'openMessages'>;
  now: () => Date;
  /** Tells every instance the account's sessions and memberships ended (its sockets and gateways stop). */
  events?: EventPublisher;
}) {
  const { db, hasher, throttle, audit, crypto, now, events } = deps;

  const passwords = createPasswordCheck({ hasher, throttle, audit });

  /** The password, counted by the same lockout as sign-in (lockout/password-check.ts). */
  async function checkPassword(userId: string, email: string, phc: string, password: string | undefined) {
    if (password === undefined) throw new ApiError('AUTH_INVALID_CREDENTIALS', 'The password is incorrect');
    const { accepted, attempt } = await passwords.check({ userId, email, phc, password });
    if (accepted) return;
    if (!attempt.allowed) {
      throw new ApiError(
        'AUTH_INVALID_CREDENTIALS',
        `Too many wrong passwords for this account: try again after ${attempt.retryAt.toISOString()}`,
      );
    }
    throw new ApiError('AUTH_INVALID_CREDENTIALS', 'The password is incorrect');
  }

  /** An account without a password re-authenticates by a sign-in within the last five minutes. */
  async function checkRecentSignIn(sessionId: string) {
    const session = await db.session.findUnique({ where: { id: sessionId }, select: { createdAt: true } });
    if (!session || now().getTime() - session.createdAt.getTime() > RECENT_SIGN_IN_MS) {
      throw new ApiError(
        'AUTH_INVALID_CREDENTIALS',
        'Sign in again, then delete the account within five minutes',
      );
    }
  }

  return {
    async export(userId: string) {
      const user = await db.user.findUnique({
        where: { id: userId },
        select: { id: true, email: true, name: true, createdAt: true, emailVerifiedAt: true },
      });
      if (!user) throw new ApiError('UNAUTHENTICATED', 'The account no longer exists');
      const [externalIdentities, sessionRows, memberships, gateways, conversations, auditEvents] =
        await Promise.all([
          db.externalIdentity.findMany({
            where: { userId },
            select: {
              provider: true,
              issuer: true,
              subject: true,
              email: true,
              createdAt: true,
              lastLoginAt: true,
            },
          }),
          db.session.findMany({
            where: { userId },
            select: {
              id: true,
              createdAt: true,
              lastUsedAt: true,
              revokedAt: true,
              revokedReason: true,
              clientName: true,
              ip: true,
              userAgent: true,
            },
          }),
          db.membership.findMany({
            where: { userId },
            select: { role: true, createdAt: true, workspace: { select: { id: true, name: true } } },
          }),
          db.gateway.findMany({
            where: { ownerUserId: userId },
            select: {
              id: true,
              workspaceId: true,
              name: true,
              createdAt: true,
              lastSeenAt: true,
              revokedAt: true,
            },
          }),
          db.conversation.findMany({
            where: { ownerUserId: userId },
            select: {
              id: true,
              workspaceId: true,
              agentId: true,
              agentSource: true,
              title: true,
              createdAt: true,
              messages: { orderBy: { seq: 'asc' }, select: storedMessageSelect },
            },
          }),
          db.auditEvent.findMany({
            where: { actorId: userId },
            orderBy: { createdAt: 'asc' },
            select: {
              action: true,
              workspaceId: true,
              targetType: true,
              targetId: true,
              metadata: true,
              ip: true,
              userAgent: true,
              createdAt: true,
            },
          }),
        ]);
      return {
        exportedAt: now().toISOString(),
        user: {
          id: user.id,
          email: user.email,
          name: user.name,
          createdAt: user.createdAt.toISOString(),
          emailVerified: user.emailVerifiedAt !== null,
          emailVerifiedAt: user.emailVerifiedAt?.toISOString() ?? null,
        },
        externalIdentities: rows(externalIdentities),
        sessions: rows(sessionRows),
        memberships: rows(memberships),
        gateways: rows(gateways),
        conversations: await Promise.all(
          conversations.map(async ({ messages, ...conversation }) => ({
            ...(plain(conversation) as Record<string, unknown>),
            messages: await decryptMessages(crypto, db, conversation.workspaceId, messages),
          })),
        ),
        auditEvents: rows(auditEvents),
      };
    },

    /**
     * Deletes the account after re-authentication: the password, or for an
     * account without one (single sign-on only) a sign-in within the last
     * five minutes. Refused while the user is the only owner of a workspace
     * with other members. Workspaces where the user is the only member go
     * with the account.
     */
    async deleteAccount(
      principal: { userId: string; sessionId: string },
      password: string | undefined,
    ): Promise<void> {
      const userId = principal.userId;
      const user = await db.user.findUnique({
        where: { id: userId },
        select: { email: true, password: { select: { hash: true } } },
      });
      if (!user) throw new ApiError('UNAUTHENTICATED', 'The account no longer exists');
      const phc = user.password?.hash;
      if (phc) await checkPassword(userId, user.email, phc, password);
      else await checkRecentSignIn(principal.sessionId);
      const ended = await db.$transaction(async (tx) => {
        // Lock order, as everywhere: the account first (no invitation can add a
        // membership to it meanwhile), then its workspaces under the owner guard.
        await tx.$queryRaw`SELECT 1 FROM users WHERE id = ${userId}::uuid FOR UPDATE`;
        const mine = await tx.membership.findMany({ where: { userId }, select: { workspaceId: true } });
        const workspaces = [
          ...(
            await lockWorkspaces(
              tx,
              mine.map((m) => m.workspaceId),
            )
          ).values(),
        ];
        const leaving = [{ userId, role: null }];
        const blocking = workspaces.filter((w) => {
          const left = after(w, leaving);
          return left.members > 0 && left.owners === 0;
        });
        if (blocking.length > 0) {
          throw new ApiError(
            'ACCOUNT_SOLE_OWNER',
            `You are the only owner of ${blocking.length} workspace(s) with other members; transfer ownership first`,
          );
        }
        // Workspaces where the user is the only member go with the account;
        // the account's sessions and memberships go by cascade.
        const alone = workspaces.filter((w) => after(w, leaving).members === 0).map((w) => w.id);
        await tx.workspace.deleteMany({ where: { id: { in: alone } } });
        // Account-level audit entries keep what happened, not who the person was.
        await tx.auditEvent.updateMany({
          where: { actorId: userId, workspaceId: null },
          data: { ip: null, userAgent: null },
        });
        await tx.loginThrottle.deleteMany({ where: { email: user.email } });
        const sessions = await tx.session.findMany({
          where: { userId, revokedAt: null },
          select: { id: true },
        });
        await tx.user.delete({ where: { id: userId } });
        await audit.record(
          { action: 'auth.account.deleted', actorKind: 'system', targetType: 'user', targetId: userId },
          tx,
        );
        return [
          ...sessions.map(
            (session): BusMessage => ({ type: 'session.ended', sessionId: session.id, userId }),
          ),
          ...mine.map((m): BusMessage => ({ type: 'membership.ended', workspaceId: m.workspaceId, userId })),
        ];
      });
      await events?.publish(...ended);
    },
  };
}

export type PrivacyService = ReturnType<typeof createPrivacyService>;
