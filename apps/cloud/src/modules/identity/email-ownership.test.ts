import { randomBytes } from 'node:crypto';
import { ErrorEnvelope, LoginResponse, MeResponse } from '@multiclaw/protocol';
import { manualClock } from '@multiclaw/test-support/clock';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp } from '../../../test/support/app.js';
import { codeIn, type SmtpPeer, startSmtpPeer } from '../../../test/support/smtp-peer.js';

/**
 * Email verification, password reset and invitation mail, end to end: the
 * real app sends through nodemailer to a real SMTP server on 127.0.0.1, and
 * each test reads the mail as a person would (the decoded text, the code on
 * its `Code:` line) and uses what it says.
 */

const PASSWORD = 'correct horse battery staple 7';
const clock = manualClock('2026-11-30T12:00:00Z');

let smtp: SmtpPeer;
let ctx: Awaited<ReturnType<typeof createTestApp>>;
let addressCounter = 0;

beforeAll(async () => {
  smtp = await startSmtpPeer();
  ctx = await createTestApp({
    now: clock.now,
    env: { SMTP_URL: smtp.url, MAIL_FROM: 'MultiClaw <no-reply@example.com>', AUTH_RATE_LIMIT_MAX: '100000' },
  });
});
afterAll(async () => {
  await ctx?.close();
  await smtp?.close();
});

function send(options: InjectOptions & { token?: string }): Promise<LightMyRequestResponse> {
  const { token, ...rest } = options;
  return ctx.app.inject({
    remoteAddress: `198.51.100.${(addressCounter++ % 250) + 1}`,
    ...rest,
    headers: { 'user-agent': 'mail-test/1.0', ...(token ? { authorization: `Bearer ${token}` } : {}) },
  });
}

const uniqueEmail = () => `mail-${randomBytes(5).toString('hex')}@example.com`;
const codeOf = (response: LightMyRequestResponse) => ErrorEnvelope.parse(response.json()).error.code;

async function register(email = uniqueEmail()) {
  const response = await send({
    method: 'POST',
    url: '/v1/auth/register',
    payload: { email, password: PASSWORD },
  });
  expect(response.statusCode, response.body).toBe(201);
  return { email, id: response.json().user.id as string };
}

async function login(email: string, password = PASSWORD) {
  const response = await send({ method: 'POST', url: '/v1/auth/login', payload: { email, password } });
  expect(response.statusCode, response.body).toBe(200);
  return LoginResponse.parse(response.json());
}

async function me(token: string) {
  const response = await send({ method: 'GET', url: '/v1/me', token });
  expect(response.statusCode).toBe(200);
  return MeResponse.parse(response.json()).user;
}

describe('email verification', () => {
  it('mails a code at registration; spending it verifies the address, once', async () => {
    const { email, id } = await register();
    const mail = await smtp.next(email);
    expect(mail.from).toBe('no-reply@example.com');
    expect(mail.subject).toBe('Confirm your email address for MultiClaw');
    const code = codeIn(mail);

    const session = await login(email);
    expect(session.user.emailVerified).toBe(false);
    // Unverified, the account works: it creates and uses its own workspace.
    const workspace = await send({
      method: 'POST',
      url: '/v1/workspaces',
      token: session.accessToken,
      payload: { name: 'mine' },
    });
    expect(workspace.statusCode).toBe(201);

    const verified = await send({ method: 'POST', url: '/v1/auth/email/verify', payload: { token: code } });
    expect(verified.statusCode, verified.body).toBe(200);
    expect(verified.json().user).toEqual({ id, email, name: null, emailVerified: true });
    expect((await me(session.accessToken)).emailVerified).toBe(true);
    expect((await login(email)).user.emailVerified).toBe(true);

    const again = await send({ method: 'POST', url: '/v1/auth/email/verify', payload: { token: code } });
    expect(again.statusCode).toBe(400);
    expect(codeOf(again)).toBe('EMAIL_VERIFICATION_TOKEN_INVALID');
  });

  it('stores only a hash of the code', async () => {
    const { email, id } = await register();
    const code = codeIn(await smtp.next(email));
    const rows = await ctx.app.db.emailToken.findMany({ where: { userId: id } });
    expect(rows).toHaveLength(1);
    expect(Buffer.from(rows[0]?.tokenHash ?? []).toString('base64url')).not.toBe(code);
    expect(
      JSON.stringify(rows, (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString() : v)),
    ).not.toContain(code);
  });

  it('a code stops working after 24 hours', async () => {
    const { email } = await register();
    const code = codeIn(await smtp.next(email));
    clock.advanceSeconds(24 * 3600 + 1);
    const late = await send({ method: 'POST', url: '/v1/auth/email/verify', payload: { token: code } });
    expect(codeOf(late)).toBe('EMAIL_VERIFICATION_TOKEN_INVALID');
  });

  it('resends a fresh code, at most one a minute, and none once verified', async () => {
    const { email } = await register();
    await smtp.next(email);
    const session = await login(email);
    const tooSoon = await send({ method: 'POST', url: '/v1/auth/email/resend', token: session.accessToken });
    expect(tooSoon.statusCode).toBe(429);
    expect(codeOf(tooSoon)).toBe('RATE_LIMITED');
    expect(tooSoon.headers['retry-after']).toBe('60');

    clock.advanceSeconds(61);
    const resent = await send({ method: 'POST', url: '/v1/auth/email/resend', token: session.accessToken });
    expect(resent.statusCode).toBe(204);
    const code = codeIn(await smtp.next(email));
    expect(
      (await send({ method: 'POST', url: '/v1/auth/email/verify', payload: { token: code } })).statusCode,
    ).toBe(200);

    clock.advanceSeconds(61);
    const done = await send({ method: 'POST', url: '/v1/auth/email/resend', token: session.accessToken });
    expect(done.statusCode).toBe(204);
    await ctx.app.mailer.idle();
    expect(smtp.take(email)).toEqual([]);
  });

  it('caps resends at five an hour', async () => {
    const { email } = await register();
    await smtp.next(email);
    const session = await login(email);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      clock.advanceSeconds(61);
      statuses.push(
        (await send({ method: 'POST', url: '/v1/auth/email/resend', token: session.accessToken })).statusCode,
      );
    }
    // The registration mail counts: four resends fit in its hour, then 429.
    expect(statuses).toEqual([204, 204, 204, 204, 429, 429]);
    const refused = await send({ method: 'POST', url: '/v1/auth/email/resend', token: session.accessToken });
    expect(refused.headers['retry-after']).toBe('3600');
    expect(ErrorEnvelope.parse(refused.json()).error.details?.retryAfterSeconds).toBe(3600);
  });
});

describe('password reset', () => {
  async function forgot(email: string) {
    return send({ method: 'POST', url: '/v1/auth/password/forgot', payload: { email } });
  }

  it('answers the same for an unknown address and mails nothing', async () => {
    const { email } = await register();
    await smtp.next(email);
    const known = await forgot(email.toUpperCase());
    const unknownEmail = uniqueEmail();
    const unknown = await forgot(unknownEmail);
    const strip = (r: LightMyRequestResponse) => ({
      status: r.statusCode,
      body: r.body,
      headers: Object.keys(r.headers)
        .filter((h) => !['x-request-id', 'date', 'x-ratelimit-remaining', 'x-ratelimit-reset'].includes(h))
        .sort(),
    });
    expect(strip(known)).toEqual(strip(unknown));
    expect(known.statusCode).toBe(204);
    expect((await smtp.next(email)).subject).toBe('Reset your MultiClaw password');
    await ctx.app.mailer.idle();
    expect(smtp.take(unknownEmail)).toEqual([]);
  });

  it('resets with the mailed code: policy applies, every session ends, the code works once', async () => {
    const { email } = await register();
    await smtp.next(email);
    const before = await login(email);
    expect((await forgot(email)).statusCode).toBe(204);
    const code = codeIn(await smtp.next(email));

    const weak = await send({
      method: 'POST',
      url: '/v1/auth/password/reset',
      payload: { token: code, password: 'password1234' },
    });
    expect(weak.statusCode).toBe(400);
    expect(codeOf(weak)).toBe('VALIDATION_FAILED');

    // The refused password did not spend the code.
    const newPassword = 'a fresh passphrase for reset 3';
    const reset = await send({
      method: 'POST',
      url: '/v1/auth/password/reset',
      payload: { token: code, password: newPassword },
    });
    expect(reset.statusCode, reset.body).toBe(204);
    expect((await send({ method: 'GET', url: '/v1/me', token: before.accessToken })).statusCode).toBe(401);
    const refresh = await send({
      method: 'POST',
      url: '/v1/auth/refresh',
      payload: { refreshToken: before.refreshToken },
    });
    expect(refresh.statusCode).toBe(401);
    expect(
      (await send({ method: 'POST', url: '/v1/auth/login', payload: { email, password: PASSWORD } }))
        .statusCode,
    ).toBe(401);
    // The code came through the mailbox: the address counts as verified.
    expect((await login(email, newPassword)).user.emailVerified).toBe(true);

    const replay = await send({
      method: 'POST',
      url: '/v1/auth/password/reset',
      payload: { token: code, password: 'yet another passphrase 4' },
    });
    expect(codeOf(replay)).toBe('PASSWORD_RESET_TOKEN_INVALID');
  });

  it('a reset code stops working after 30 minutes', async () => {
    const { email } = await register();
    await smtp.next(email);
    await forgot(email);
    const code = codeIn(await smtp.next(email));
    clock.advanceSeconds(30 * 60 + 1);
    const late = await send({
      method: 'POST',
      url: '/v1/auth/password/reset',
      payload: { token: code, password: 'a fresh passphrase for reset 3' },
    });
    expect(codeOf(late)).toBe('PASSWORD_RESET_TOKEN_INVALID');
    await login(email);
  });

  it('mails at most three codes an hour per address (requests sent in parallel), answering the same beyond', async () => {
    const { email } = await register();
    await smtp.next(email);
    const statuses = (await Promise.all(Array.from({ length: 6 }, () => forgot(email)))).map(
      (r) => r.statusCode,
    );
    expect(statuses).toEqual([204, 204, 204, 204, 204, 204]);
    await ctx.app.mailer.idle();
    expect(smtp.take(email)).toHaveLength(3);
    clock.advanceSeconds(3601);
    await forgot(email);
    expect((await smtp.next(email)).subject).toBe('Reset your MultiClaw password');
  });
});

describe('password reset of an account that never proved its address', () => {
  it('the mailbox owner takes it over: sessions end and the gateways its holder enrolled are revoked', async () => {
    // Someone registered this address without owning it, and linked a gateway of theirs.
    const { email, id } = await register();
    await smtp.next(email);
    const squatter = await login(email);
    const workspace = await ctx.app.db.workspace.create({
      data: { name: 'squatted', memberships: { create: { userId: id, role: 'owner' } } },
    });
    const gateway = await ctx.app.db.gateway.create({
      data: { workspaceId: workspace.id, ownerUserId: id, publicKey: new Uint8Array(randomBytes(32)) },
    });
    await ctx.app.db.gatewayEnrollment.create({
      data: {
        workspaceId: workspace.id,
        createdById: id,
        codeHash: new Uint8Array(randomBytes(32)),
        expiresAt: new Date(clock.nowMs() + 600_000),
      },
    });

    await send({ method: 'POST', url: '/v1/auth/password/forgot', payload: { email } });
    const code = codeIn(await smtp.next(email));
    const reset = await send({
      method: 'POST',
      url: '/v1/auth/password/reset',
      payload: { token: code, password: 'the real owner chose this 5' },
    });
    expect(reset.statusCode, reset.body).toBe(204);
    expect((await send({ method: 'GET', url: '/v1/me', token: squatter.accessToken })).statusCode).toBe(401);
    expect(
      (await ctx.app.db.gateway.findUniqueOrThrow({ where: { id: gateway.id } })).revokedAt,
    ).not.toBeNull();
    expect(await ctx.app.db.gatewayEnrollment.count({ where: { createdById: id } })).toBe(0);
    const audited = await ctx.app.db.auditEvent.findFirst({
      where: { action: 'auth.password.reset', actorId: id },
    });
    expect(audited?.metadata).toMatchObject({ sessionsEnded: 1, gatewaysRevoked: 1 });
  });

  it('a verified account keeps its gateways across a reset', async () => {
    const { email, id } = await register();
    const code = codeIn(await smtp.next(email));
    await send({ method: 'POST', url: '/v1/auth/email/verify', payload: { token: code } });
    const workspace = await ctx.app.db.workspace.create({
      data: { name: 'mine', memberships: { create: { userId: id, role: 'owner' } } },
    });
    const gateway = await ctx.app.db.gateway.create({
      data: { workspaceId: workspace.id, ownerUserId: id, publicKey: new Uint8Array(randomBytes(32)) },
    });
    await send({ method: 'POST', url: '/v1/auth/password/forgot', payload: { email } });
    const resetCode = codeIn(await smtp.next(email));
    await send({
      method: 'POST',
      url: '/v1/auth/password/reset',
      payload: { token: resetCode, password: 'the real owner chose this 5' },
    });
    expect((await ctx.app.db.gateway.findUniqueOrThrow({ where: { id: gateway.id } })).revokedAt).toBeNull();
  });
});

describe('invitation mail', () => {
  async function owner() {
    const { email } = await register();
    await smtp.next(email);
    const session = await login(email);
    const created = await send({
      method: 'POST',
      url: '/v1/workspaces',
      token: session.accessToken,
      payload: { name: 'Research' },
    });
    return { token: session.accessToken, wid: created.json().id as string };
  }

  async function invite(inviter: { token: string; wid: string }, email: string) {
    const response = await send({
      method: 'POST',
      url: `/v1/workspaces/${inviter.wid}/invitations`,
      token: inviter.token,
      payload: { email, role: 'member' },
    });
    expect(response.statusCode, response.body).toBe(201);
    return response.json().token as string;
  }

  it('mails the invitation; accepting with the mailed code verifies the address', async () => {
    const inviter = await owner();
    const { email } = await register();
    await smtp.next(email);
    const shownToOwner = await invite(inviter, email);
    const mail = await smtp.next(email);
    expect(mail.subject).toBe('You are invited to the MultiClaw workspace "Research"');
    const mailed = codeIn(mail);
    expect(mailed).not.toBe(shownToOwner);

    const invitee = await login(email);
    const accepted = await send({
      method: 'POST',
      url: '/v1/invitations/accept',
      token: invitee.accessToken,
      payload: { token: mailed },
    });
    expect(accepted.statusCode, accepted.body).toBe(200);
    expect((await me(invitee.accessToken)).emailVerified).toBe(true);
    // Either token spends the invitation.
    const other = await send({
      method: 'POST',
      url: '/v1/invitations/accept',
      token: invitee.accessToken,
      payload: { token: shownToOwner },
    });
    expect(codeOf(other)).toBe('INVITATION_INVALID');
  });

  it('accepting with the token shown to the owner does not verify: the owner may be the one registering', async () => {
    // An attacker registers the victim's address, and invites it from a workspace of their own.
    const attacker = await owner();
    const victim = uniqueEmail();
    await register(victim);
    const shownToOwner = await invite(attacker, victim);
    const squatter = await login(victim);
    const accepted = await send({
      method: 'POST',
      url: '/v1/invitations/accept',
      token: squatter.accessToken,
      payload: { token: shownToOwner },
    });
    expect(accepted.statusCode, accepted.body).toBe(200);
    expect((await me(squatter.accessToken)).emailVerified).toBe(false);
  });
});
