import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { ErrorEnvelope, LoginResponse } from '@multiclaw/protocol';
import { manualClock } from '@multiclaw/test-support/clock';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp } from '../../../test/support/app.js';
import { hashAuditEntry, type StoredAuditFields } from '../audit/recorder.js';
import { createAccessTokens } from './tokens/access-tokens.js';

const PASSWORD = 'correct horse battery staple 7';
const clock = manualClock('2026-11-24T12:00:00Z');

let ctx: Awaited<ReturnType<typeof createTestApp>>;
let addressCounter = 0;
/** Each call a different client address, so the per-client rate limit stays out of the way unless tested. */
const freshAddress = () => `198.51.100.${(addressCounter++ % 250) + 1}`;

beforeAll(async () => {
  ctx = await createTestApp({
    now: clock.now,
    env: {
      AUTH_LOCKOUT_THRESHOLD: '5',
      AUTH_LOCKOUT_BASE_SECONDS: '60',
      AUTH_LOCKOUT_MAX_SECONDS: '900',
      AUTH_RATE_LIMIT_MAX: '1000',
    },
  });
});
afterAll(async () => {
  await ctx?.close();
});

function send(options: InjectOptions & { token?: string }): Promise<LightMyRequestResponse> {
  const { token, ...rest } = options;
  return ctx.app.inject({
    remoteAddress: freshAddress(),
    ...rest,
    headers: {
      'user-agent': 'identity-test/1.0',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...rest.headers,
    },
  });
}

const uniqueEmail = () => `user-${randomBytes(5).toString('hex')}@example.com`;

async function register(email = uniqueEmail(), password = PASSWORD) {
  const response = await send({
    method: 'POST',
    url: '/v1/auth/register',
    payload: { email, password, name: 'Ada' },
  });
  expect(response.statusCode, response.body).toBe(201);
  return { email, password, user: response.json().user as { id: string; email: string } };
}

async function login(email: string, password = PASSWORD, clientName?: string) {
  const response = await send({
    method: 'POST',
    url: '/v1/auth/login',
    payload: { email, password, clientName },
  });
  expect(response.statusCode, response.body).toBe(200);
  return LoginResponse.parse(response.json());
}

const codeOf = (response: LightMyRequestResponse) => ErrorEnvelope.parse(response.json()).error.code;

describe('registration', () => {
  it('normalises the email and refuses a case variant of an existing one', async () => {
    const local = `ada-${randomBytes(4).toString('hex')}`;
    const response = await send({
      method: 'POST',
      url: '/v1/auth/register',
      payload: { email: `  ${local.toUpperCase()}@Example.COM `, password: PASSWORD },
    });
    expect(response.statusCode).toBe(201);
    expect(response.json().user.email).toBe(`${local}@example.com`);
    const again = await send({
      method: 'POST',
      url: '/v1/auth/register',
      payload: { email: `${local}@EXAMPLE.com`, password: PASSWORD },
    });
    expect(again.statusCode).toBe(409);
    expect(codeOf(again)).toBe('AUTH_EMAIL_TAKEN');
  });

  it.each([
    ['too short', 'short7!'],
    ['breached', 'password1234'],
    ['too long', 'x'.repeat(1025)],
  ])('refuses a %s password with the field path', async (_name, password) => {
    const response = await send({
      method: 'POST',
      url: '/v1/auth/register',
      payload: { email: uniqueEmail(), password },
    });
    expect(response.statusCode).toBe(400);
    const body = ErrorEnvelope.parse(response.json());
    expect(body.error.code).toBe('VALIDATION_FAILED');
    expect(body.error.details?.issues?.[0]?.path).toBe('body.password');
  });

  it('accepts a 64-character password and stores only an argon2id hash', async () => {
    const password = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit sed do 6';
    expect(password.length).toBe(64);
    const { user } = await register(uniqueEmail(), password);
    const credential = await ctx.app.db.passwordCredential.findUniqueOrThrow({ where: { userId: user.id } });
    expect(credential.hash).toMatch(/^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/);
    expect(credential.hash).not.toContain(password);
  });
});

describe('sign-in', () => {
  it('issues an access token that opens /v1/me and a refresh token', async () => {
    const { email, user } = await register();
    const tokens = await login(email);
    expect(tokens.expiresIn).toBeLessThanOrEqual(600);
    const me = await send({ method: 'GET', url: '/v1/me', token: tokens.accessToken });
    expect(me.statusCode).toBe(200);
    expect(me.json()).toEqual({ user: { id: user.id, email, name: 'Ada', emailVerified: false } });
    expect((await send({ method: 'GET', url: '/v1/me' })).statusCode).toBe(401);
    expect((await send({ method: 'GET', url: '/v1/me', token: `${tokens.accessToken}x` })).statusCode).toBe(
      401,
    );
  });

  it('unknown email, wrong password and locked account give byte-identical answers', async () => {
    const { email } = await register();
    const normalise = (response: LightMyRequestResponse) => ({
      status: response.statusCode,
      body: response.body.replace(/"requestId":"[^"]+"/, '"requestId":"-"'),
      headers: Object.keys(response.headers)
        .filter((h) => !['x-request-id', 'date', 'x-ratelimit-remaining', 'x-ratelimit-reset'].includes(h))
        .sort()
        .map((h) => `${h}: ${response.headers[h]}`),
    });
    const unknown = normalise(
      await send({
        method: 'POST',
        url: '/v1/auth/login',
        payload: { email: uniqueEmail(), password: PASSWORD },
      }),
    );
    const wrong = normalise(
      await send({ method: 'POST', url: '/v1/auth/login', payload: { email, password: 'wrong password 1' } }),
    );
    for (let i = 0; i < 5; i++) {
      await send({
        method: 'POST',
        url: '/v1/auth/login',
        payload: { email, password: `wrong password ${i}` },
      });
    }
    const locked = normalise(
      await send({ method: 'POST', url: '/v1/auth/login', payload: { email, password: PASSWORD } }),
    );
    expect(unknown.status).toBe(401);
    expect(wrong).toEqual(unknown);
    expect(locked).toEqual(unknown);
    expect(JSON.parse(unknown.body).error.code).toBe('AUTH_INVALID_CREDENTIALS');
  });

  it('locks after 5 failures, refuses even the right password while locked without extending the lock, then recovers', async () => {
    const { email } = await register();
    for (let i = 0; i < 5; i++) {
      await send({ method: 'POST', url: '/v1/auth/login', payload: { email, password: `nope-${i}-nope` } });
    }
    clock.advanceSeconds(30);
    const whileLocked = await send({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email, password: PASSWORD },
    });
    expect(whileLocked.statusCode).toBe(401);
    // Locked for 60 s from the fifth failure; the attempt at +30 s did not push it out.
    clock.advanceSeconds(31);
    await login(email);
  });

  it('case variants of one email share one lockout counter', async () => {
    const { email } = await register();
    const [local, domain] = email.split('@');
    const variants = [
      email.toUpperCase(),
      ` ${email}`,
      `${local?.toUpperCase()}@${domain}`,
      email,
      email.toUpperCase(),
    ];
    for (const variant of variants) {
      await send({
        method: 'POST',
        url: '/v1/auth/login',
        payload: { email: variant, password: 'not the password' },
      });
    }
    expect(
      (await send({ method: 'POST', url: '/v1/auth/login', payload: { email, password: PASSWORD } }))
        .statusCode,
    ).toBe(401);
    clock.advanceSeconds(61);
    await login(email);
  });
});

describe('session tokens over the API', () => {
  it('refreshes, and a replayed refresh token revokes the session with a distinct code', async () => {
    const { email } = await register();
    const t0 = await login(email);
    clock.advanceSeconds(20);
    const t1 = await send({
      method: 'POST',
      url: '/v1/auth/refresh',
      payload: { refreshToken: t0.refreshToken },
    });
    expect(t1.statusCode).toBe(200);
    const next = t1.json();
    clock.advanceSeconds(20);
    await send({ method: 'POST', url: '/v1/auth/refresh', payload: { refreshToken: next.refreshToken } });
    clock.advanceSeconds(20);
    const replay = await send({
      method: 'POST',
      url: '/v1/auth/refresh',
      payload: { refreshToken: t0.refreshToken },
    });
    expect(replay.statusCode).toBe(401);
    expect(codeOf(replay)).toBe('AUTH_REFRESH_TOKEN_REUSED');
    expect((await send({ method: 'GET', url: '/v1/me', token: next.accessToken })).statusCode).toBe(401);
  });

  it('derives a successor from the highest-version master key, as docs/security-model.md says', async () => {
    const older = randomBytes(32);
    const active = randomBytes(32);
    // Listed oldest first: the active key is the highest version, not the first listed.
    const app = await createTestApp({
      databaseUrl: ctx.databaseUrl,
      env: {
        MULTICLAW_MASTER_KEYS: `1:${older.toString('base64')},2:${active.toString('base64')}`,
        AUTH_RATE_LIMIT_MAX: '1000',
      },
    });
    try {
      const email = uniqueEmail();
      const payload = { email, password: PASSWORD };
      await app.app.inject({ method: 'POST', url: '/v1/auth/register', payload });
      const parent = (await app.app.inject({ method: 'POST', url: '/v1/auth/login', payload })).json()
        .refreshToken;
      const refresh = await app.app.inject({
        method: 'POST',
        url: '/v1/auth/refresh',
        payload: { refreshToken: parent },
      });
      expect(refresh.statusCode, refresh.body).toBe(200);
      const key = Buffer.from(
        hkdfSync('sha256', active, Buffer.alloc(0), 'multiclaw refresh-token rotation', 32),
      );
      const successor = createHmac('sha256', key)
        .update('multiclaw refresh rotation v1\0')
        .update(parent)
        .digest('base64url');
      expect(refresh.json().refreshToken).toBe(successor);
    } finally {
      await app.app.close();
    }
  });

  it('logout takes effect on the very next request', async () => {
    const { email } = await register();
    const tokens = await login(email);
    expect((await send({ method: 'GET', url: '/v1/me', token: tokens.accessToken })).statusCode).toBe(200);
    expect(
      (await send({ method: 'POST', url: '/v1/auth/logout', token: tokens.accessToken })).statusCode,
    ).toBe(204);
    const after = await send({ method: 'GET', url: '/v1/me', token: tokens.accessToken });
    expect(after.statusCode).toBe(401);
    expect(after.headers['www-authenticate']).toBe('Bearer realm="multiclaw"');
    const refresh = await send({
      method: 'POST',
      url: '/v1/auth/refresh',
      payload: { refreshToken: tokens.refreshToken },
    });
    expect(codeOf(refresh)).toBe('AUTH_REFRESH_TOKEN_INVALID');
  });

  it('lists sessions with their details and marks the current one; revoking one ends it at once', async () => {
    const { email } = await register();
    const laptop = await login(email, PASSWORD, 'laptop');
    const phone = await login(email, PASSWORD, 'phone');
    const list = await send({
      method: 'GET',
      url: '/v1/auth/sessions',
      token: laptop.accessToken,
      remoteAddress: '203.0.113.9',
    });
    expect(list.statusCode).toBe(200);
    const items = list.json().items as Array<{
      id: string;
      clientName: string;
      current: boolean;
      userAgent: string;
    }>;
    expect(items.map((s) => s.clientName).sort()).toEqual(['laptop', 'phone']);
    expect(items.find((s) => s.current)?.clientName).toBe('laptop');
    expect(items.every((s) => s.userAgent === 'identity-test/1.0')).toBe(true);
    const phoneSession = items.find((s) => s.clientName === 'phone');
    const revoke = await send({
      method: 'DELETE',
      url: `/v1/auth/sessions/${phoneSession?.id}`,
      token: laptop.accessToken,
    });
    expect(revoke.statusCode).toBe(204);
    expect((await send({ method: 'GET', url: '/v1/me', token: phone.accessToken })).statusCode).toBe(401);
    expect((await send({ method: 'GET', url: '/v1/me', token: laptop.accessToken })).statusCode).toBe(200);
  });

  it("answers 404 for another user's session and for a missing one, and leaves it alive", async () => {
    const alice = await register();
    const bob = await register();
    const aliceTokens = await login(alice.email);
    const bobTokens = await login(bob.email);
    const bobSessions = await send({ method: 'GET', url: '/v1/auth/sessions', token: bobTokens.accessToken });
    const bobSessionId = bobSessions.json().items[0].id;
    const foreign = await send({
      method: 'DELETE',
      url: `/v1/auth/sessions/${bobSessionId}`,
      token: aliceTokens.accessToken,
    });
    const missing = await send({
      method: 'DELETE',
      url: '/v1/auth/sessions/00000000-0000-4000-8000-000000000000',
      token: aliceTokens.accessToken,
    });
    expect(foreign.statusCode).toBe(404);
    expect(missing.statusCode).toBe(404);
    expect(foreign.body.replace(/"requestId":"[^"]+"/, '')).toBe(
      missing.body.replace(/"requestId":"[^"]+"/, ''),
    );
    expect((await send({ method: 'GET', url: '/v1/me', token: bobTokens.accessToken })).statusCode).toBe(200);
  });

  it('changing the password needs the current one and ends every other session', async () => {
    const { email } = await register();
    const here = await login(email);
    const elsewhere = await login(email);
    const wrong = await send({
      method: 'POST',
      url: '/v1/auth/password',
      token: here.accessToken,
      payload: { currentPassword: 'not it at all', newPassword: 'a brand new passphrase 9' },
    });
    expect(wrong.statusCode).toBe(401);
    const changed = await send({
      method: 'POST',
      url: '/v1/auth/password',
      token: here.accessToken,
      payload: { currentPassword: PASSWORD, newPassword: 'a brand new passphrase 9' },
    });
    expect(changed.statusCode).toBe(204);
    expect((await send({ method: 'GET', url: '/v1/me', token: elsewhere.accessToken })).statusCode).toBe(401);
    expect((await send({ method: 'GET', url: '/v1/me', token: here.accessToken })).statusCode).toBe(200);
    expect(
      (await send({ method: 'POST', url: '/v1/auth/login', payload: { email, password: PASSWORD } }))
        .statusCode,
    ).toBe(401);
    await login(email, 'a brand new passphrase 9');
  });

  it('wrong current passwords at a password change count toward the sign-in lockout', async () => {
    const { email } = await register();
    const session = await login(email);
    const change = (currentPassword: string) =>
      send({
        method: 'POST',
        url: '/v1/auth/password',
        token: session.accessToken,
        payload: { currentPassword, newPassword: 'a brand new passphrase 9' },
      });
    for (let i = 0; i < 5; i++) expect((await change(`guess number ${i}`)).statusCode).toBe(401);
    // Five guesses through a stolen session lock the account for everyone, sign-in included…
    const locked = await send({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email, password: PASSWORD },
    });
    expect(locked.statusCode).toBe(401);
    // …and the change itself, even with the right password.
    expect((await change(PASSWORD)).statusCode).toBe(401);
    const events = await ctx.app.db.auditEvent.findMany({
      where: { action: 'auth.lockout', actorId: session.user.id },
    });
    expect(events).toHaveLength(1);
    clock.advanceSeconds(61);
    expect((await change(PASSWORD)).statusCode).toBe(204);
  });

  it('failed sign-ins count toward the lockout of a password change', async () => {
    const { email } = await register();
    const session = await login(email);
    for (let i = 0; i < 5; i++) {
      await send({ method: 'POST', url: '/v1/auth/login', payload: { email, password: `nope-${i}-nope` } });
    }
    const refused = await send({
      method: 'POST',
      url: '/v1/auth/password',
      token: session.accessToken,
      payload: { currentPassword: PASSWORD, newPassword: 'a brand new passphrase 9' },
    });
    expect(refused.statusCode).toBe(401);
    expect(codeOf(refused)).toBe('AUTH_INVALID_CREDENTIALS');
    clock.advanceSeconds(61);
  });

  it('publishes a JWKS that verifies the access tokens', async () => {
    const { email } = await register();
    const tokens = await login(email);
    const jwks = await send({ method: 'GET', url: '/.well-known/jwks.json' });
    expect(jwks.statusCode).toBe(200);
    const { payload } = await jwtVerify(tokens.accessToken, createLocalJWKSet(jwks.json()), {
      audience: 'multiclaw-api',
      issuer: ctx.config.publicUrl,
      currentDate: clock.now(),
    });
    expect(payload.sid).toBeTypeOf('string');
  });
});

describe('audit of auth events', () => {
  it('records each event with IP and user agent, and never a password or token', async () => {
    const { email, user } = await register();
    await send({ method: 'POST', url: '/v1/auth/login', payload: { email, password: 'definitely wrong' } });
    const tokens = await login(email);
    await send({ method: 'POST', url: '/v1/auth/logout', token: tokens.accessToken });
    const events = await ctx.app.db.auditEvent.findMany({
      where: { actorId: user.id },
      orderBy: { createdAt: 'asc' },
    });
    expect(events.map((e) => e.action)).toEqual(
      expect.arrayContaining(['auth.registered', 'auth.login.failed', 'auth.login.succeeded', 'auth.logout']),
    );
    for (const event of events) {
      expect(event.ip).toMatch(/^198\.51\.100\.\d+$/);
      expect(event.userAgent).toBe('identity-test/1.0');
    }
    const dump = JSON.stringify(events, (_k, v) => (typeof v === 'bigint' ? String(v) : v));
    for (const secret of [PASSWORD, 'definitely wrong', tokens.accessToken, tokens.refreshToken]) {
      expect(dump).not.toContain(secret);
    }
  });
});

describe('the writes of a sign-in', () => {
  it('clears the lockout count, and stores the session, its refresh token and a verifiable audit entry naming it', async () => {
    const { email, user } = await register();
    const wrong = await send({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email, password: 'not it' },
    });
    expect(wrong.statusCode).toBe(401);
    expect(await ctx.app.db.loginThrottle.findUnique({ where: { email } })).not.toBeNull();

    const tokens = await login(email, PASSWORD, 'writes-test');
    const sessionId = JSON.parse(
      Buffer.from(tokens.accessToken.split('.')[1] ?? '', 'base64url').toString(),
    ).sid;

    expect(await ctx.app.db.loginThrottle.findUnique({ where: { email } })).toBeNull();
    const session = await ctx.app.db.session.findUniqueOrThrow({
      where: { id: sessionId },
      include: { refreshTokens: true },
    });
    expect(session).toMatchObject({ userId: user.id, clientName: 'writes-test', revokedAt: null });
    expect(session.ip).toMatch(/^198\.51\.100\.\d+$/);
    expect(session.refreshTokens).toHaveLength(1);
    expect(session.idleExpiresAt.getTime()).toBeGreaterThan(session.createdAt.getTime());

    const entries = await ctx.app.db.auditEvent.findMany({
      where: { actorId: user.id, action: 'auth.login.succeeded' },
    });
    expect(entries).toHaveLength(1);
    const [entry] = entries;
    expect(entry).toMatchObject({
      workspaceId: null,
      seq: 0n,
      actorKind: 'user',
      targetType: 'session',
      targetId: sessionId,
      userAgent: 'identity-test/1.0',
      prevHash: null,
    });
    // The hash the audit verifier recomputes from the stored row.
    expect(Buffer.from(entry?.hash ?? [])).toEqual(hashAuditEntry(null, entry as StoredAuditFields));
    // And the refresh token it was given is the one stored: it refreshes.
    const refreshed = await send({
      method: 'POST',
      url: '/v1/auth/refresh',
      payload: { refreshToken: tokens.refreshToken },
    });
    expect(refreshed.statusCode, refreshed.body).toBe(200);
  });
});

describe('account and privacy', () => {
  it('exports everything held about the user, without credential hashes or tokens', async () => {
    const { email, user } = await register();
    const tokens = await login(email, PASSWORD, 'exporter');
    const response = await send({ method: 'GET', url: '/v1/me/export', token: tokens.accessToken });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-disposition']).toContain('attachment');
    const data = response.json();
    expect(data.user).toMatchObject({ id: user.id, email, emailVerified: false, emailVerifiedAt: null });
    expect(data.sessions.map((s: { clientName: string }) => s.clientName)).toContain('exporter');
    expect(data.auditEvents.map((e: { action: string }) => e.action)).toEqual(
      expect.arrayContaining(['auth.registered', 'auth.login.succeeded']),
    );
    expect(response.body).not.toContain('$argon2id');
    expect(response.body).not.toContain(tokens.refreshToken);
    expect(response.body).not.toMatch(/tokenHash|token_hash/);
  });

  it('deletes the account after re-authentication; its sessions die and the email is free again', async () => {
    const { email, user } = await register();
    const tokens = await login(email);
    const solo = await ctx.app.db.workspace.create({
      data: { name: 'solo', memberships: { create: { userId: user.id, role: 'owner' } } },
    });
    const wrong = await send({
      method: 'DELETE',
      url: '/v1/me',
      token: tokens.accessToken,
      payload: { password: 'not mine' },
    });
    expect(wrong.statusCode).toBe(401);
    const gone = await send({
      method: 'DELETE',
      url: '/v1/me',
      token: tokens.accessToken,
      payload: { password: PASSWORD },
    });
    expect(gone.statusCode).toBe(204);
    expect((await send({ method: 'GET', url: '/v1/me', token: tokens.accessToken })).statusCode).toBe(401);
    expect(await ctx.app.db.user.findUnique({ where: { id: user.id } })).toBeNull();
    expect(await ctx.app.db.workspace.findUnique({ where: { id: solo.id } })).toBeNull();
    const leftovers = await ctx.app.db.auditEvent.findMany({
      where: { actorId: user.id, workspaceId: null },
    });
    expect(leftovers.length).toBeGreaterThan(0);
    expect(leftovers.every((e) => e.ip === null && e.userAgent === null)).toBe(true);
    await register(email);
  });

  it('refuses while the user is the only owner of a workspace with other members', async () => {
    const owner = await register();
    const member = await register();
    const tokens = await login(owner.email);
    const shared = await ctx.app.db.workspace.create({
      data: {
        name: 'shared',
        memberships: {
          create: [
            { userId: owner.user.id, role: 'owner' },
            { userId: member.user.id, role: 'member' },
          ],
        },
      },
    });
    const refused = await send({
      method: 'DELETE',
      url: '/v1/me',
      token: tokens.accessToken,
      payload: { password: PASSWORD },
    });
    expect(refused.statusCode).toBe(409);
    expect(codeOf(refused)).toBe('ACCOUNT_SOLE_OWNER');
    expect((await send({ method: 'GET', url: '/v1/me', token: tokens.accessToken })).statusCode).toBe(200);
    await ctx.app.db.membership.update({
      where: { workspaceId_userId: { workspaceId: shared.id, userId: member.user.id } },
      data: { role: 'owner' },
    });
    const allowed = await send({
      method: 'DELETE',
      url: '/v1/me',
      token: tokens.accessToken,
      payload: { password: PASSWORD },
    });
    expect(allowed.statusCode).toBe(204);
    expect(await ctx.app.db.workspace.findUnique({ where: { id: shared.id } })).not.toBeNull();
  });
});

describe('argon2id parameter upgrades', () => {
  it('rehashes with the new parameters at the next successful sign-in', async () => {
    const { email, user } = await register();
    const before = await ctx.app.db.passwordCredential.findUniqueOrThrow({ where: { userId: user.id } });
    expect(before.hash).toContain('m=19456,t=2,p=1');
    // The operator raises the time cost: a second app on the same database.
    const upgraded = await createTestApp({
      databaseUrl: ctx.databaseUrl,
      now: clock.now,
      env: { AUTH_ARGON2_TIME_COST: '3' },
    });
    try {
      const wrong = await upgraded.app.inject({
        method: 'POST',
        url: '/v1/auth/login',
        payload: { email, password: 'wrong one!' },
      });
      expect(wrong.statusCode).toBe(401);
      const unchanged = await ctx.app.db.passwordCredential.findUniqueOrThrow({ where: { userId: user.id } });
      expect(unchanged.hash).toBe(before.hash);
      const right = await upgraded.app.inject({
        method: 'POST',
        url: '/v1/auth/login',
        payload: { email, password: PASSWORD },
      });
      expect(right.statusCode).toBe(200);
      const after = await ctx.app.db.passwordCredential.findUniqueOrThrow({ where: { userId: user.id } });
      expect(after.hash).toContain('m=19456,t=3,p=1');
      // The new hash still verifies through the original app.
      await login(email);
    } finally {
      await upgraded.app.close();
    }
  });
});

describe('deleting an account without a password', () => {
  it('requires a sign-in within the last five minutes instead', async () => {
    const { email, user } = await register();
    const tokens = await login(email);
    // Turn it into a single-sign-on-only account.
    await ctx.app.db.passwordCredential.delete({ where: { userId: user.id } });
    clock.advanceSeconds(6 * 60);
    const stale = await send({
      method: 'DELETE',
      url: '/v1/me',
      token: (await refreshed(tokens.refreshToken)).accessToken,
      payload: {},
    });
    expect(stale.statusCode).toBe(401);
    expect(codeOf(stale)).toBe('AUTH_INVALID_CREDENTIALS');
    // A sign-in a moment ago (as the single-sign-on flow would create it).
    const recent = await ctx.app.db.session.create({
      data: {
        userId: user.id,
        createdAt: clock.now(),
        lastUsedAt: clock.now(),
        idleExpiresAt: new Date(clock.nowMs() + 3_600_000),
        absoluteExpiresAt: new Date(clock.nowMs() + 7_200_000),
      },
    });
    const signer = createAccessTokens({
      keyring: ctx.config.signingKeys,
      issuer: ctx.config.publicUrl,
      ttlSeconds: 600,
      now: clock.now,
    });
    const accessToken = await signer.sign({ userId: user.id, sessionId: recent.id });
    const deleted = await send({ method: 'DELETE', url: '/v1/me', token: accessToken, payload: {} });
    expect(deleted.statusCode).toBe(204);
  });
});

async function refreshed(refreshToken: string) {
  const response = await send({ method: 'POST', url: '/v1/auth/refresh', payload: { refreshToken } });
  expect(response.statusCode).toBe(200);
  return response.json() as { accessToken: string };
}
