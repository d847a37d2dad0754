import { randomBytes } from 'node:crypto';
import { ApiError } from '@multiclaw/protocol';
import { manualClock } from '@multiclaw/test-support/clock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../../test/database.js';
import { validEnv } from '../../../../test/support/env.js';
import { loadConfig } from '../../../config.js';
import { createPrismaClient, type Database } from '../../../db/client.js';
import { createAuditRecorder } from '../../audit/recorder.js';
import { createAccessTokens } from '../tokens/access-tokens.js';
import { createSessionService } from './service.js';

const client = { ip: '203.0.113.7', userAgent: 'vitest', clientName: 'test' };
const HOUR = 3600;

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let db: Database;

beforeAll(async () => {
  database = await createTestDatabase();
  db = createPrismaClient(database.url);
});
afterAll(async () => {
  await db.$disconnect();
  await database.drop();
});

async function setup(
  policy = { idleTtlSeconds: 24 * HOUR, absoluteTtlSeconds: 72 * HOUR, reuseGraceSeconds: 10 },
) {
  const clock = manualClock('2026-11-24T12:00:00Z');
  const now = clock.now;
  const config = loadConfig(validEnv());
  const tokens = createAccessTokens({
    keyring: config.signingKeys,
    issuer: 'https://t',
    ttlSeconds: 600,
    now,
  });
  const audit = createAuditRecorder({ db, now });
  const sessions = createSessionService({
    db,
    tokens,
    audit,
    policy,
    refreshDerivationKey: randomBytes(32),
    now,
  });
  const user = await db.user.create({ data: { email: `${randomBytes(6).toString('hex')}@example.com` } });
  return {
    sessions,
    tokens,
    userId: user.id,
    advanceSeconds: clock.advanceSeconds,
  };
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'ok';
  } catch (error) {
    return error instanceof ApiError ? error.code : `unexpected: ${String(error)}`;
  }
}

const liveTokens = (sessionId: string) => db.refreshToken.count({ where: { sessionId, retiredAt: null } });

describe('refresh token rotation', () => {
  it('rotates: each refresh returns a new pair and retires the old refresh token', async () => {
    const { sessions, tokens, userId } = await setup();
    const first = await sessions.start(userId, client);
    const second = await sessions.refresh(first.refreshToken, client);
    expect(second.refreshToken).not.toBe(first.refreshToken);
    expect(second.accessToken).not.toBe(first.accessToken);
    expect(await tokens.verify(second.accessToken)).toEqual({ userId, sessionId: first.sessionId });
    expect(await liveTokens(first.sessionId)).toBe(1);
    const stored = await db.refreshToken.findMany({ where: { sessionId: first.sessionId } });
    for (const row of stored) {
      expect(Buffer.from(row.tokenHash).toString('base64url')).not.toBe(first.refreshToken);
      expect(Buffer.from(row.tokenHash).toString('base64url')).not.toBe(second.refreshToken);
    }
  });

  it('rotate three times, replay the first token: the whole session is revoked', async () => {
    const { sessions, userId, advanceSeconds } = await setup();
    const t0 = await sessions.start(userId, client);
    advanceSeconds(60);
    const t1 = await sessions.refresh(t0.refreshToken, client);
    advanceSeconds(60);
    const t2 = await sessions.refresh(t1.refreshToken, client);
    advanceSeconds(60);
    const t3 = await sessions.refresh(t2.refreshToken, client);
    advanceSeconds(60);
    expect(await codeOf(sessions.refresh(t0.refreshToken, client))).toBe('AUTH_REFRESH_TOKEN_REUSED');
    // Every descendant is dead, including the newest, and so are its access tokens.
    expect(await codeOf(sessions.refresh(t3.refreshToken, client))).toBe('AUTH_REFRESH_TOKEN_INVALID');
    expect(await codeOf(sessions.assertActive(t0.sessionId, userId))).toBe('UNAUTHENTICATED');
    expect(await liveTokens(t0.sessionId)).toBe(0);
    const session = await db.session.findUniqueOrThrow({ where: { id: t0.sessionId } });
    expect(session.revokedReason).toBe('refresh_token_reuse');
    const events = await db.auditEvent.findMany({ where: { targetId: t0.sessionId } });
    expect(events.map((e) => e.action)).toContain('auth.refresh_token.reuse_detected');
    expect(JSON.stringify(events, (_k, v) => (typeof v === 'bigint' ? String(v) : v))).not.toContain(
      t0.refreshToken,
    );
  });

  it('an immediate retry of the just-used token (a lost response) returns the same successor', async () => {
    const { sessions, userId, advanceSeconds } = await setup();
    const t0 = await sessions.start(userId, client);
    const t1 = await sessions.refresh(t0.refreshToken, client);
    advanceSeconds(3);
    const retry = await sessions.refresh(t0.refreshToken, client);
    expect(retry.refreshToken).toBe(t1.refreshToken);
    expect(await liveTokens(t0.sessionId)).toBe(1);
    // The successor works as usual afterwards.
    const t2 = await sessions.refresh(t1.refreshToken, client);
    expect(t2.refreshToken).not.toBe(t1.refreshToken);
  });

  it('the grace ends once the successor has been used', async () => {
    const { sessions, userId, advanceSeconds } = await setup();
    const t0 = await sessions.start(userId, client);
    const t1 = await sessions.refresh(t0.refreshToken, client);
    await sessions.refresh(t1.refreshToken, client);
    advanceSeconds(1);
    expect(await codeOf(sessions.refresh(t0.refreshToken, client))).toBe('AUTH_REFRESH_TOKEN_REUSED');
  });

  it('the grace ends after its window', async () => {
    const { sessions, userId, advanceSeconds } = await setup();
    const t0 = await sessions.start(userId, client);
    await sessions.refresh(t0.refreshToken, client);
    advanceSeconds(11);
    expect(await codeOf(sessions.refresh(t0.refreshToken, client))).toBe('AUTH_REFRESH_TOKEN_REUSED');
  });

  it('concurrent refreshes with one token end on one live token in one session', async () => {
    const { sessions, userId } = await setup();
    const t0 = await sessions.start(userId, client);
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, () => sessions.refresh(t0.refreshToken, client)),
    );
    const successors = new Set(
      results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.refreshToken] : [])),
    );
    expect(successors.size).toBe(1);
    expect(await liveTokens(t0.sessionId)).toBe(1);
    expect(await db.session.count({ where: { userId } })).toBe(1);
    expect(await db.refreshToken.count({ where: { sessionId: t0.sessionId } })).toBe(2);
  });

  it('refuses garbage, unknown and revoked-session tokens as invalid', async () => {
    const { sessions, userId } = await setup();
    expect(await codeOf(sessions.refresh('not-a-token', client))).toBe('AUTH_REFRESH_TOKEN_INVALID');
    expect(await codeOf(sessions.refresh(randomBytes(32).toString('base64url'), client))).toBe(
      'AUTH_REFRESH_TOKEN_INVALID',
    );
    const t0 = await sessions.start(userId, client);
    await sessions.revokeOwn(userId, t0.sessionId, 'logout');
    expect(await codeOf(sessions.refresh(t0.refreshToken, client))).toBe('AUTH_REFRESH_TOKEN_INVALID');
  });
});

describe('session lifetimes', () => {
  it('ends a session left idle longer than the idle lifetime', async () => {
    const { sessions, userId, advanceSeconds } = await setup({
      idleTtlSeconds: HOUR,
      absoluteTtlSeconds: 10 * HOUR,
      reuseGraceSeconds: 10,
    });
    const t0 = await sessions.start(userId, client);
    advanceSeconds(HOUR - 1);
    const t1 = await sessions.refresh(t0.refreshToken, client);
    advanceSeconds(HOUR + 1);
    expect(await codeOf(sessions.refresh(t1.refreshToken, client))).toBe('AUTH_REFRESH_TOKEN_INVALID');
    expect(await codeOf(sessions.assertActive(t0.sessionId, userId))).toBe('UNAUTHENTICATED');
  });

  it('ends a session at its absolute lifetime however often it is refreshed', async () => {
    const { sessions, userId, advanceSeconds } = await setup({
      idleTtlSeconds: HOUR,
      absoluteTtlSeconds: 3 * HOUR,
      reuseGraceSeconds: 10,
    });
    let current = (await sessions.start(userId, client)).refreshToken;
    for (let i = 0; i < 5; i++) {
      advanceSeconds(HOUR / 2);
      current = (await sessions.refresh(current, client)).refreshToken;
    }
    advanceSeconds(HOUR / 2 + 1);
    expect(await codeOf(sessions.refresh(current, client))).toBe('AUTH_REFRESH_TOKEN_INVALID');
  });
});

describe('revocation', () => {
  it('revokes every session of a user but the one kept, and only that user', async () => {
    const { sessions, userId } = await setup();
    const other = await setup();
    const kept = await sessions.start(userId, client);
    const a = await sessions.start(userId, client);
    const b = await sessions.start(userId, client);
    const theirs = await other.sessions.start(other.userId, client);
    const ended = await sessions.revokeAllOf(userId, 'password_changed', { except: kept.sessionId });
    expect(ended.sort()).toEqual([a.sessionId, b.sessionId].sort());
    expect(await codeOf(sessions.assertActive(kept.sessionId, userId))).toBe('ok');
    expect(await codeOf(sessions.assertActive(a.sessionId, userId))).toBe('UNAUTHENTICATED');
    expect(await codeOf(sessions.assertActive(theirs.sessionId, other.userId))).toBe('ok');
  });

  it("cannot revoke another user's session, and a session id is bound to its user", async () => {
    const mine = await setup();
    const theirs = await setup();
    const session = await theirs.sessions.start(theirs.userId, client);
    expect(await mine.sessions.revokeOwn(mine.userId, session.sessionId, 'revoked')).toBe(false);
    expect(await codeOf(theirs.sessions.assertActive(session.sessionId, theirs.userId))).toBe('ok');
    expect(await codeOf(mine.sessions.assertActive(session.sessionId, mine.userId))).toBe('UNAUTHENTICATED');
  });
});
