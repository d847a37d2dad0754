import { randomUUID } from 'node:crypto';
import { ApiError } from '@multiclaw/protocol';
import { type Database, sqlOf, type Transaction } from '../../../db/client.js';
import type { EventPublisher } from '../../../events/publisher.js';
import { type AuditEntry, type AuditRecorder, accountEntryRow } from '../../audit/recorder.js';
import type { AccessTokens } from '../tokens/access-tokens.js';
import {
  hashRefreshToken,
  looksLikeRefreshToken,
  newRefreshToken,
  successorOf,
} from '../tokens/refresh-tokens.js';

export type ClientContext = { ip: string; userAgent: string | undefined; clientName?: string | undefined };

export type TokenPair = { accessToken: string; refreshToken: string; expiresIn: number };

type SessionPolicy = { idleTtlSeconds: number; absoluteTtlSeconds: number; reuseGraceSeconds: number };

type LiveSessionRow = {
  user_id: string;
  revoked_at: Date | null;
  idle_expires_at: Date;
  absolute_expires_at: Date;
  role?: string | null;
};

const LIVE_SESSION =
  'SELECT user_id, revoked_at, idle_expires_at, absolute_expires_at FROM sessions WHERE id = $1::uuid';
// The membership is the session's own user's: the join never reads another person's role.
const LIVE_SESSION_AND_ROLE = `SELECT s.user_id, s.revoked_at, s.idle_expires_at, s.absolute_expires_at, m.role::text AS role
  FROM sessions s
  LEFT JOIN memberships m ON m.workspace_id = $2::uuid AND m.user_id = s.user_id
  WHERE s.id = $1::uuid`;

// Sign-in's writes as one statement: atomic, and one round trip instead of seven.
const SIGN_IN = `WITH cleared AS (DELETE FROM login_throttles WHERE email = $1),
  session AS (
    INSERT INTO sessions (id, user_id, created_at, last_used_at, idle_expires_at, absolute_expires_at, client_name, ip, user_agent)
    VALUES ($2::uuid, $3::uuid, $4::timestamptz, $4::timestamptz, $5::timestamptz, $6::timestamptz, $7, $8::inet, $9)
    RETURNING id),
  token AS (INSERT INTO refresh_tokens (session_id, token_hash, created_at) SELECT id, $10::bytea, $4::timestamptz FROM session),
  audit AS (
    INSERT INTO audit_events (workspace_id, seq, actor_kind, actor_id, action, target_type, target_id, metadata, ip, user_agent, created_at, prev_hash, hash)
    VALUES (NULL, 0, $11::audit_actor_kind, $12::uuid, $13, $14, $15, $16::jsonb, $17::inet, $18, $19::timestamptz, NULL, $20::bytea))
  SELECT id FROM session`;

const addSeconds = (date: Date, seconds: number) => new Date(date.getTime() + seconds * 1000);
const earliest = (a: Date, b: Date) => (a < b ? a : b);

/**
 * Sessions and their refresh-token rotation family. Every token of a session
 * descends from the one issued at sign-in; each use retires it and creates
 * exactly one successor (a unique parent_id makes a second one impossible).
 */
export function createSessionService(deps: {
  db: Database;
  tokens: AccessTokens;
  audit: AuditRecorder;
  policy: SessionPolicy;
  refreshDerivationKey: Buffer;
  now: () => Date;
  /** Tells every instance a session ended, so its real-time sockets close at once. */
  events?: EventPublisher;
}) {
  const { db, tokens, audit, policy, refreshDerivationKey, now, events } = deps;
  const sql = sqlOf(db);

  async function pair(userId: string, sessionId: string, refreshToken: string): Promise<TokenPair> {
    return {
      accessToken: await tokens.sign({ userId, sessionId }),
      refreshToken,
      expiresIn: tokens.ttlSeconds,
    };
  }

  async function revoke(
    where: { id?: string; userId?: string; notId?: string },
    reason: string,
    outer?: Transaction,
  ): Promise<string[]> {
    const at = now();
    const inTransaction = <T>(work: (tx: Transaction) => Promise<T>) =>
      outer ? work(outer) : db.$transaction(work);
    const ended = await inTransaction(async (tx) => {
      const sessions = await tx.session.findMany({
        where: {
          ...(where.id ? { id: where.id } : {}),
          ...(where.userId ? { userId: where.userId } : {}),
          ...(where.notId ? { id: { not: where.notId } } : {}),
          revokedAt: null,
        },
        select: { id: true, userId: true },
      });
      const ids = sessions.map((s) => s.id);
      if (ids.length === 0) return sessions;
      await tx.session.updateMany({
        where: { id: { in: ids } },
        data: { revokedAt: at, revokedReason: reason },
      });
      await tx.refreshToken.updateMany({
        where: { sessionId: { in: ids }, retiredAt: null },
        data: { retiredAt: at },
      });
      return sessions;
    });
    // Inside a caller's transaction this is announced before it commits: should it
    // roll back, the session lives on and its sockets simply reconnect.
    await events?.publish(
      ...ended.map((session) => ({
        type: 'session.ended' as const,
        sessionId: session.id,
        userId: session.userId,
      })),
    );
    return ended.map((session) => session.id);
  }

  async function live(sessionId: string, userId: string, workspaceId?: string): Promise<LiveSessionRow> {
    const at = now();
    const { rows } = await sql.query<LiveSessionRow>(
      workspaceId === undefined ? LIVE_SESSION : LIVE_SESSION_AND_ROLE,
      workspaceId === undefined ? [sessionId] : [sessionId, workspaceId],
    );
    const session = rows[0];
    if (
      !session ||
      session.user_id !== userId ||
      session.revoked_at ||
      session.idle_expires_at <= at ||
      session.absolute_expires_at <= at
    ) {
      throw new ApiError('UNAUTHENTICATED', 'The session has ended');
    }
    return session;
  }

  return {
    /** A fresh session with fresh tokens: nothing from before sign-in carries over. */
    async start(userId: string, client: ClientContext): Promise<TokenPair & { sessionId: string }> {
      const at = now();
      const refreshToken = newRefreshToken();
      const session = await db.session.create({
        data: {
          userId,
          createdAt: at,
          lastUsedAt: at,
          idleExpiresAt: addSeconds(at, policy.idleTtlSeconds),
          absoluteExpiresAt: addSeconds(at, policy.absoluteTtlSeconds),
          clientName: client.clientName ?? null,
          ip: client.ip,
          userAgent: client.userAgent?.slice(0, 512) ?? null,
          refreshTokens: { create: { tokenHash: hashRefreshToken(refreshToken), createdAt: at } },
        },
        select: { id: true },
      });
      return { sessionId: session.id, ...(await pair(userId, session.id, refreshToken)) };
    },

    /**
     * `start` for a password sign-in, with the sign-in's other writes in the
     * same statement: the address's lockout row cleared (the attempt was
     * counted up front) and the account-level audit entry `auditFor(sessionId)`.
     */
    async startSignIn(
      userId: string,
      client: ClientContext,
      writes: { throttleKey: string; auditFor: (sessionId: string) => AuditEntry },
    ): Promise<TokenPair & { sessionId: string }> {
      const at = now();
      const sessionId = randomUUID();
      const refreshToken = newRefreshToken();
      const entry = accountEntryRow(writes.auditFor(sessionId), at);
      const [tokensPair] = await Promise.all([
        pair(userId, sessionId, refreshToken),
        sql.query(SIGN_IN, [
          writes.throttleKey,
          sessionId,
          userId,
          at,
          addSeconds(at, policy.idleTtlSeconds),
          addSeconds(at, policy.absoluteTtlSeconds),
          client.clientName ?? null,
          client.ip,
          client.userAgent?.slice(0, 512) ?? null,
          Buffer.from(hashRefreshToken(refreshToken)),
          entry.actorKind,
          entry.actorId,
          entry.action,
          entry.targetType,
          entry.targetId,
          entry.metadata === undefined ? null : JSON.stringify(entry.metadata),
          entry.ip,
          entry.userAgent,
          entry.createdAt,
          Buffer.from(entry.hash),
        ]),
      ]);
      return { sessionId, ...tokensPair };
    },

    async refresh(presented: string, client: ClientContext): Promise<TokenPair> {
      if (!looksLikeRefreshToken(presented)) {
        throw new ApiError('AUTH_REFRESH_TOKEN_INVALID', 'The refresh token is invalid or expired');
      }
      const at = now();
      const outcome = await db.$transaction(async (tx) => {
        // The row lock serialises concurrent refreshes of one token: the
        // second waits, then sees the first one's rotation.
        const [token] = await tx.$queryRaw<
          Array<{ id: string; session_id: string; used_at: Date | null; retired_at: Date | null }>
        >`SELECT id, session_id, used_at, retired_at FROM refresh_tokens WHERE token_hash = ${hashRefreshToken(presented)} FOR UPDATE`;
        if (!token) return { kind: 'invalid' as const };
        const session = await tx.session.findUnique({ where: { id: token.session_id } });
        if (!session || session.revokedAt || session.idleExpiresAt <= at || session.absoluteExpiresAt <= at) {
          return { kind: 'invalid' as const };
        }
        const successor = successorOf(presented, refreshDerivationKey);
        if (token.used_at === null && token.retired_at === null) {
          await tx.refreshToken.update({ where: { id: token.id }, data: { usedAt: at, retiredAt: at } });
          await tx.refreshToken.create({
            data: {
              sessionId: session.id,
              parentId: token.id,
              tokenHash: hashRefreshToken(successor),
              createdAt: at,
            },
          });
          await tx.session.update({
            where: { id: session.id },
            data: {
              lastUsedAt: at,
              idleExpiresAt: earliest(addSeconds(at, policy.idleTtlSeconds), session.absoluteExpiresAt),
              ip: client.ip,
              ...(client.userAgent ? { userAgent: client.userAgent.slice(0, 512) } : {}),
            },
          });
          return { kind: 'rotated' as const, userId: session.userId, sessionId: session.id, successor };
        }
        // Already used. A lost response retried at once gets the same successor,
        // provided that successor is still unused; anything else is reuse.
        const child = await tx.refreshToken.findUnique({ where: { parentId: token.id } });
        const withinGrace =
          token.used_at !== null && at.getTime() - token.used_at.getTime() <= policy.reuseGraceSeconds * 1000;
        if (withinGrace && child && child.usedAt === null && child.retiredAt === null) {
          return { kind: 'retried' as const, userId: session.userId, sessionId: session.id, successor };
        }
        return { kind: 'reused' as const, userId: session.userId, sessionId: session.id };
      });

      if (outcome.kind === 'invalid') {
        throw new ApiError('AUTH_REFRESH_TOKEN_INVALID', 'The refresh token is invalid or expired');
      }
      if (outcome.kind === 'reused') {
        await revoke({ id: outcome.sessionId }, 'refresh_token_reuse');
        await audit.record({
          action: 'auth.refresh_token.reuse_detected',
          actorId: outcome.userId,
          targetType: 'session',
          targetId: outcome.sessionId,
          ip: client.ip,
          userAgent: client.userAgent,
        });
        throw new ApiError(
          'AUTH_REFRESH_TOKEN_REUSED',
          'This refresh token was already used; the session has been ended. Sign in again.',
        );
      }
      return pair(outcome.userId, outcome.sessionId, outcome.successor);
    },

    /** Throws UNAUTHENTICATED unless the session is live; called on every authenticated request. */
    async assertActive(sessionId: string, userId: string): Promise<void> {
      await live(sessionId, userId);
    },

    /**
     * `assertActive` that also reads the user's role in `workspaceId` (null:
     * not a member) in the same statement, so a workspace route's sign-in and
     * access check cost one round trip, not two.
     */
    async assertActiveWithRole(
      sessionId: string,
      userId: string,
      workspaceId: string,
    ): Promise<string | null> {
      return (await live(sessionId, userId, workspaceId)).role ?? null;
    },

    async list(userId: string) {
      const at = now();
      return db.session.findMany({
        where: { userId, revokedAt: null, idleExpiresAt: { gt: at }, absoluteExpiresAt: { gt: at } },
        orderBy: { createdAt: 'desc' },
        select: { id: true, createdAt: true, lastUsedAt: true, clientName: true, ip: true, userAgent: true },
      });
    },

    /** Ends one of the user's sessions; another user's session is simply not found. */
    async revokeOwn(
      userId: string,
      sessionId: string,
      reason: 'logout' | 'revoked',
      client?: ClientContext,
    ): Promise<boolean> {
      const owned = await db.session.findFirst({ where: { id: sessionId, userId }, select: { id: true } });
      if (!owned) return false;
      await revoke({ id: sessionId }, reason);
      await audit.record({
        action: reason === 'logout' ? 'auth.logout' : 'auth.session.revoked',
        actorId: userId,
        targetType: 'session',
        targetId: sessionId,
        ip: client?.ip,
        userAgent: client?.userAgent,
      });
      return true;
    },

    /** `tx`: revoke as part of the caller's transaction (it commits or rolls back with it). */
    revokeAllOf(
      userId: string,
      reason: string,
      options: { except?: string; tx?: Transaction } = {},
    ): Promise<string[]> {
      return revoke({ userId, ...(options.except ? { notId: options.except } : {}) }, reason, options.tx);
    },
  };
}

export type SessionService = ReturnType<typeof createSessionService>;
