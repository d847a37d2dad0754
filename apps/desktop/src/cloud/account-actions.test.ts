import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { type ErrorEnvelope, LoginResponse } from '@multiclaw/protocol';
import { jsonExchanger } from '@multiclaw/test-support/json-http';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { codeIn, type SmtpPeer, startSmtpPeer } from '../../../cloud/test/support/smtp-peer.js';
import { startTestCloud, type TestCloud } from '../../../gateway/test/support/cloud.js';
import { openEvents, startTestDesktop, type TestDesktop } from '../../test/support/desktop.js';

/**
 * The account commands of the host against the REAL cloud (its own
 * PostgreSQL database) and a real SMTP server for the mailed codes: sign-up,
 * verification, forgot and reset, profile, password change, sessions,
 * export and deletion, each with the refusal a person could run into.
 */
let cloud: TestCloud;
let smtp: SmtpPeer;
const desktops: TestDesktop[] = [];

beforeAll(async () => {
  smtp = await startSmtpPeer();
  cloud = await startTestCloud({
    env: { SMTP_URL: smtp.url, MAIL_FROM: 'MultiClaw <no-reply@example.com>' },
  });
}, 120_000);
afterAll(async () => {
  for (const started of desktops) await started.close();
  await cloud?.drop();
  await smtp?.close();
}, 60_000);

const base = () => `http://127.0.0.1:${cloud.port}`;
const newEmail = (label: string) => `${label}-${randomBytes(4).toString('hex')}@example.com`;
const newPassword = (label: string) => `${label} passphrase 7 ${randomBytes(3).toString('hex')}`;
const errorOf = (body: Record<string, unknown>) => (body as ErrorEnvelope).error;

const api = jsonExchanger(base);

/** A sign-in over the API: another device of the same person. */
async function login(email: string, password: string) {
  const answer = await api('POST', '/v1/auth/login', undefined, { email, password, clientName: 'Phone' });
  return answer.status === 200 ? LoginResponse.parse(answer.body) : undefined;
}

async function register(label: string) {
  const email = newEmail(label);
  const password = newPassword(label);
  expect((await api('POST', '/v1/auth/register', undefined, { email, password })).status).toBe(201);
  await smtp.next(email);
  return { email, password };
}

async function desktop() {
  const t = await startTestDesktop({ gateway: false });
  desktops.push(t);
  const set = await t.call('settings.update', { cloudUrl: cloud.url });
  expect(set.status, JSON.stringify(set.body)).toBe(200);
  return t;
}

async function signedIn(label: string) {
  const who = await register(label);
  const t = await desktop();
  const answer = await t.call('account.signIn', who);
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return { t, ...who };
}

/** Counts the host's refresh requests (each is one more use of the refresh token). */
function countRefreshes() {
  const refreshes: string[] = [];
  const real = globalThis.fetch;
  const spy = vi.spyOn(globalThis, 'fetch').mockImplementation((input, init) => {
    const url = String(input instanceof Request ? input.url : input);
    if (url.endsWith('/v1/auth/refresh')) refreshes.push(url);
    return real(input, init);
  });
  return { refreshes, restore: () => spy.mockRestore() };
}

describe('sign-up and the mailed codes', () => {
  it('signs up then signs in; the mailed code verifies the address, and the session says so', async () => {
    const t = await desktop();
    const email = newEmail('signup');
    const password = newPassword('signup');
    const up = await t.call('account.signUp', { email, password, name: 'Sam Sign-up' });
    expect(up.status, JSON.stringify(up.body)).toBe(200);
    expect(up.body).toMatchObject({
      state: 'signed-in',
      user: { email, name: 'Sam Sign-up', emailVerified: false },
    });
    const mail = await smtp.next(email);

    // Asking again at once is refused in words that say why.
    const again = await t.call('account.resendVerification');
    expect(again.status).toBe(429);
    expect(errorOf(again.body).message).toMatch(/mailed recently.*Wait \d+ seconds/);

    const wrong = await t.call('account.verifyEmail', { token: 'not-the-code' });
    expect(wrong.status).toBe(400);
    expect(errorOf(wrong.body)).toMatchObject({ code: 'EMAIL_VERIFICATION_TOKEN_INVALID' });

    const events = await openEvents(t.desktop);
    const verified = await t.call('account.verifyEmail', { token: codeIn(mail) });
    expect(verified.status, JSON.stringify(verified.body)).toBe(200);
    expect(verified.body).toMatchObject({ state: 'signed-in', user: { email, emailVerified: true } });
    expect((await t.call('account.status')).body).toMatchObject({ user: { emailVerified: true } });
    // Every window hears it (the Team screen's account follows).
    const changed = await events.next(
      'account.changed',
      (event) => event.payload.account.user?.emailVerified === true,
    );
    expect(changed.payload).toMatchObject({ reason: 'signed-in', account: { state: 'signed-in' } });
    events.close();
    // Kept with the refresh token, for the next start of the host.
    const stored = JSON.parse(await readFile(t.desktop.paths.cloudSessionPath, 'utf8')) as {
      user: { emailVerified: boolean };
    };
    expect(stored.user.emailVerified).toBe(true);
    expect((await t.call('account.profile')).body).toMatchObject({ user: { email, emailVerified: true } });
    // A code works once.
    expect((await t.call('account.verifyEmail', { token: codeIn(mail) })).status).toBe(400);
  });

  it('refuses a sign-up with an address already taken, and signs nobody in', async () => {
    const taken = await register('taken');
    const t = await desktop();
    const up = await t.call('account.signUp', { email: taken.email, password: newPassword('other') });
    expect(up.status).toBe(409);
    expect(errorOf(up.body).code).toBe('AUTH_EMAIL_TAKEN');
    expect((await t.call('account.status')).body).toMatchObject({ state: 'signed-out' });
  });

  it('forgot password answers the same for an unknown address; the mailed code resets it and ends every session', async () => {
    const { t, email, password } = await signedIn('forgot');
    const events = await openEvents(t.desktop);
    const phone = await login(email, password);
    expect(phone).toBeDefined();

    const unknown = await t.call('account.forgotPassword', { email: newEmail('nobody') });
    expect(unknown).toEqual({ status: 200, body: { ok: true } });
    const asked = await t.call('account.forgotPassword', { email });
    expect(asked).toEqual({ status: 200, body: { ok: true } });
    const code = codeIn(await smtp.next(email));

    expect((await t.call('account.resetPassword', { token: 'wrong-code', password: 'x' })).status).toBe(400);
    const fresh = newPassword('reset');
    const reset = await t.call('account.resetPassword', { token: code, password: fresh });
    expect(reset.status, JSON.stringify(reset.body)).toBe(200);

    expect(await login(email, password)).toBeUndefined();
    expect(await login(email, fresh)).toBeDefined();
    expect((await api('GET', '/v1/me', phone?.accessToken)).status).toBe(401);
    // This host's session was one of them: its next call ends it here, and the UI is told.
    const after = await t.call('account.profile');
    expect(after.status).toBe(401);
    expect(errorOf(after.body).code).toBe('DESKTOP_CLOUD_SIGNED_OUT');
    const ended = await events.next('account.changed', (event) => event.payload.reason === 'session-ended');
    expect(ended.payload.message).toMatch(/sign in again/i);
    events.close();
  });
});

describe('profile and password', () => {
  it('refuses a wrong current password in plain words, without refreshing or ending the session', async () => {
    const { t, email, password } = await signedIn('wrongpw');
    const counter = countRefreshes();
    let refused: Awaited<ReturnType<TestDesktop['call']>>;
    try {
      refused = await t.call('account.changePassword', {
        currentPassword: 'not my password at all',
        newPassword: newPassword('next'),
      });
    } finally {
      counter.restore();
    }
    expect(refused.status).toBe(401);
    expect(errorOf(refused.body)).toMatchObject({ code: 'AUTH_INVALID_CREDENTIALS' });
    expect(errorOf(refused.body).message).toMatch(/current password is wrong/);
    // A wrong password is an answer, not an expired token: sent once, no refresh.
    expect(counter.refreshes).toEqual([]);
    expect((await t.call('account.status')).body).toMatchObject({ state: 'signed-in' });
    expect((await t.call('account.profile')).body).toMatchObject({ user: { email } });
    expect(await login(email, password)).toBeDefined();
  });

  it('changes the password: the other sessions end, this one goes on', async () => {
    const { t, email, password } = await signedIn('changepw');
    const phone = await login(email, password);
    const next = newPassword('changed');
    const changed = await t.call('account.changePassword', { currentPassword: password, newPassword: next });
    expect(changed, JSON.stringify(changed.body)).toEqual({ status: 200, body: { ok: true } });
    expect((await api('GET', '/v1/me', phone?.accessToken)).status).toBe(401);
    expect((await t.call('account.profile')).status).toBe(200);
    expect(await login(email, password)).toBeUndefined();
    expect(await login(email, next)).toBeDefined();
  });

  it("answers the cloud's password policy in words", async () => {
    const { t, password } = await signedIn('policy');
    const weak = await t.call('account.changePassword', { currentPassword: password, newPassword: 'short' });
    expect(weak.status).toBe(400);
    expect(errorOf(weak.body).code).toBe('VALIDATION_FAILED');
    expect(errorOf(weak.body).message.length).toBeGreaterThan(10);
  });
});

describe('sessions', () => {
  it('lists the sessions with this computer marked; "everywhere else" ends the others, this one works', async () => {
    const { t, email, password } = await signedIn('sessions');
    const phone = await login(email, password);
    const tablet = await login(email, password);
    const listed = await t.call('account.sessions.list');
    expect(listed.status).toBe(200);
    const items = (listed.body as { items: { current: boolean; clientName: string | null }[] }).items;
    expect(items).toHaveLength(3);
    expect(items.filter((item) => item.current)).toEqual([
      expect.objectContaining({ current: true, clientName: 'MultiClaw desktop' }),
    ]);

    const others = await t.call('account.sessions.revokeOthers');
    expect(others).toEqual({ status: 200, body: { revoked: 2 } });
    expect((await api('GET', '/v1/me', phone?.accessToken)).status).toBe(401);
    expect((await api('GET', '/v1/me', tablet?.accessToken)).status).toBe(401);
    expect((await t.call('account.profile')).status).toBe(200);
    const left = (await t.call('account.sessions.list')).body as { items: { current: boolean }[] };
    expect(left.items).toEqual([expect.objectContaining({ current: true })]);
    expect((await t.call('account.sessions.revokeOthers')).body).toEqual({ revoked: 0 });
  });

  it("revokes one session; another person's session is not found and goes on", async () => {
    const { t, email, password } = await signedIn('revokeone');
    const phone = await login(email, password);
    const stranger = await register('stranger');
    const theirs = await login(stranger.email, stranger.password);
    const theirList = await api('GET', '/v1/auth/sessions', theirs?.accessToken);
    const theirId = (theirList.body as { items: { id: string }[] }).items[0]?.id as string;

    const foreign = await t.call('account.sessions.revoke', { sessionId: theirId });
    expect(foreign.status).toBe(404);
    expect((await api('GET', '/v1/me', theirs?.accessToken)).status).toBe(200);

    const mine = (await t.call('account.sessions.list')).body as {
      items: { id: string; current: boolean }[];
    };
    const phoneId = mine.items.find((item) => !item.current)?.id as string;
    expect((await t.call('account.sessions.revoke', { sessionId: phoneId })).status).toBe(200);
    expect((await api('GET', '/v1/me', phone?.accessToken)).status).toBe(401);
    expect((await t.call('account.profile')).status).toBe(200);

    // Its own session, revoked from the list, is signing out here.
    const own = mine.items.find((item) => item.current)?.id as string;
    expect((await t.call('account.sessions.revoke', { sessionId: own })).status).toBe(200);
    expect((await t.call('account.status')).body).toMatchObject({ state: 'signed-out' });
  });

  it('a session revoked elsewhere ends this host’s session, with a message for the UI', async () => {
    const { t, email, password } = await signedIn('elsewhere');
    const events = await openEvents(t.desktop);
    const phone = await login(email, password);
    const list = await api('GET', '/v1/auth/sessions', phone?.accessToken);
    const desktopSession = (list.body as { items: { id: string; clientName: string | null }[] }).items.find(
      (item) => item.clientName === 'MultiClaw desktop',
    );
    expect((await api('DELETE', `/v1/auth/sessions/${desktopSession?.id}`, phone?.accessToken)).status).toBe(
      204,
    );

    const after = await t.call('account.sessions.list');
    expect(after.status).toBe(401);
    expect(errorOf(after.body).code).toBe('DESKTOP_CLOUD_SIGNED_OUT');
    const ended = await events.next('account.changed', (event) => event.payload.reason === 'session-ended');
    expect(ended.payload.account.state).toBe('signed-out');
    expect(ended.payload.message).toMatch(/ended.*Sign in again/);
    await expect(stat(t.desktop.paths.cloudSessionPath)).rejects.toThrow(/ENOENT/);
    events.close();
  });
});

describe('export and deletion', () => {
  it('saves the export as a 0600 JSON file in exports/ of the state directory, holding the account’s data', async () => {
    const { t, email } = await signedIn('export');
    const created = await t.call('workspaces.create', { name: 'Exported team' });
    expect(created.status).toBe(200);
    const answer = await t.call('account.export');
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    const { path, bytes } = answer.body as { path: string; bytes: number };
    expect(dirname(path)).toBe(join(t.desktop.paths.stateDir, 'exports'));
    expect(path).toMatch(/multiclaw-account-export-\d{4}-\d{2}-\d{2}T[\d-]+Z\.json$/);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(dirname(path))).mode & 0o777).toBe(0o700);
    const text = await readFile(path, 'utf8');
    expect(Buffer.byteLength(text)).toBe(bytes);
    const data = JSON.parse(text) as {
      user: { email: string };
      memberships: { workspace: { name: string }; role: string }[];
      sessions: unknown[];
    };
    expect(data.user.email).toBe(email);
    expect(data.memberships).toEqual([
      expect.objectContaining({
        role: 'owner',
        workspace: expect.objectContaining({ name: 'Exported team' }),
      }),
    ]);
    expect(data.sessions.length).toBeGreaterThan(0);
    // The export says nothing of the session's secrets.
    expect(text).not.toMatch(/refreshToken|accessToken|"hash"/);
  });

  it('refuses a wrong password and deletes nothing; the right one deletes the account and signs out here', async () => {
    const { t, email, password } = await signedIn('delete');
    const events = await openEvents(t.desktop);
    const wrong = await t.call('account.delete', { password: 'not the password 1' });
    expect(wrong.status).toBe(401);
    expect(errorOf(wrong.body).message).toMatch(/password is wrong.*Nothing was deleted/);
    const none = await t.call('account.delete', {});
    expect(none.status).toBe(401);
    expect(errorOf(none.body).message).toMatch(/Type your password/);
    expect(await login(email, password)).toBeDefined();
    expect((await t.call('account.status')).body).toMatchObject({ state: 'signed-in' });

    const deleted = await t.call('account.delete', { password });
    expect(deleted.status, JSON.stringify(deleted.body)).toBe(200);
    expect(deleted.body).toMatchObject({ state: 'signed-out' });
    const changed = await events.next('account.changed', (event) => event.payload.reason === 'signed-out');
    expect(changed.payload.message).toMatch(/account was deleted/);
    expect(await login(email, password)).toBeUndefined();
    await expect(stat(t.desktop.paths.cloudSessionPath)).rejects.toThrow(/ENOENT/);
    events.close();
  });

  it('refuses to delete the only owner of a workspace with other members, and deletes nothing', async () => {
    const { t, email, password } = await signedIn('soleowner');
    const workspace = (await t.call('workspaces.create', { name: 'Shared' })).body as { id: string };
    const member = await register('member');
    const invited = await t.call('invitations.create', {
      workspaceId: workspace.id,
      email: member.email,
      role: 'member',
    });
    expect(invited.status, JSON.stringify(invited.body)).toBe(200);
    const memberLogin = await login(member.email, member.password);
    const accepted = await api('POST', '/v1/invitations/accept', memberLogin?.accessToken, {
      token: (invited.body as { token: string }).token,
    });
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(200);

    const refused = await t.call('account.delete', { password });
    expect(refused.status).toBe(409);
    expect(errorOf(refused.body)).toMatchObject({ code: 'ACCOUNT_SOLE_OWNER' });
    expect(errorOf(refused.body).message).toMatch(/transfer ownership first/);
    expect((await t.call('account.status')).body).toMatchObject({ state: 'signed-in' });
    expect(await login(email, password)).toBeDefined();
    expect((await t.call('members.list', { workspaceId: workspace.id })).status).toBe(200);
  });

  it('the account commands need a session; the single sign-on list does not', async () => {
    const t = await desktop();
    for (const command of ['account.profile', 'account.sessions.list', 'account.export'] as const) {
      const refused = await t.call(command);
      expect(refused.status, command).toBe(401);
      expect(errorOf(refused.body).code).toBe('DESKTOP_CLOUD_SIGNED_OUT');
    }
    // This cloud has no OIDC providers configured.
    expect((await t.call('account.sso.providers')).body).toEqual({ items: [], nextCursor: null });
  });
});
