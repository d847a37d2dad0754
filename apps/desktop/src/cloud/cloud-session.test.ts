import { stat } from 'node:fs/promises';
import { DesktopCommands, DesktopEventsToUi, type ErrorEnvelope, LoginResponse } from '@multiclaw/protocol';
import { startFileServer } from '@multiclaw/test-support/file-server';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestCloud, type TestCloud } from '../../../gateway/test/support/cloud.js';
import { openEvents, startTestDesktop, type TestDesktop } from '../../test/support/desktop.js';

/**
 * The host's cloud session against the REAL cloud (in this process, on its
 * own PostgreSQL database): sign-in, rotation, one refresh for parallel
 * calls, reuse ending the session with an event, sign-out, no token in any
 * answer or frame, a member refused an owner's action by the cloud, the
 * real-time socket forwarded.
 */
const PASSWORD = 'desktop cloud passphrase 9';
let cloud: TestCloud;
const desktops: TestDesktop[] = [];
let clockOffsetMs = 0;

beforeAll(async () => {
  // No grace for a retried refresh: a second use of a refresh token is reuse at once.
  cloud = await startTestCloud({ env: { AUTH_REFRESH_REUSE_GRACE_SECONDS: '0' } });
}, 120_000);
afterAll(async () => {
  for (const started of desktops) await started.close();
  await cloud?.drop();
}, 60_000);

async function person(): Promise<{ email: string; id: string; token: string }> {
  const email = `desk-${Math.random().toString(16).slice(2, 10)}@example.com`;
  const base = `http://127.0.0.1:${cloud.port}`;
  await fetch(`${base}/v1/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  const login = LoginResponse.parse(
    await (
      await fetch(`${base}/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password: PASSWORD }),
      })
    ).json(),
  );
  return { email, id: login.user.id, token: login.accessToken };
}

async function desktop(options: { gateway?: boolean } = {}) {
  const t = await startTestDesktop({
    gateway: options.gateway ?? false,
    desktop: { cloudClock: () => Date.now() + clockOffsetMs },
  });
  desktops.push(t);
  const set = await t.call('settings.update', { cloudUrl: cloud.url });
  expect(set.status, JSON.stringify(set.body)).toBe(200);
  return t;
}

async function signedIn(options: { gateway?: boolean } = {}) {
  const who = await person();
  const t = await desktop(options);
  const answer = await t.call('account.signIn', { email: who.email, password: PASSWORD });
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return { t, who };
}

const storedRefreshToken = async (t: TestDesktop) =>
  (await t.desktop.cloud.session.status()).state === 'signed-in'
    ? ((await import('node:fs/promises'))
        .readFile(t.desktop.paths.cloudSessionPath, 'utf8')
        .then((text) => (JSON.parse(text) as { refreshToken: string }).refreshToken) as Promise<string>)
    : undefined;

const codeOf = (body: Record<string, unknown>) => (body as ErrorEnvelope).error.code;

describe('the cloud session in the host', () => {
  it('signs in with email and password; the refresh token is in a 0600 file, no token in any answer or frame', async () => {
    const who = await person();
    const t = await desktop();
    const events = await openEvents(t.desktop);
    expect((await t.call('account.status')).body).toEqual({ state: 'signed-out', cloudUrl: cloud.url });

    const answer = await t.call('account.signIn', { email: who.email, password: PASSWORD });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ state: 'signed-in', user: { id: who.id, email: who.email } });
    const changed = await events.next('account.changed', (event) => event.payload.reason === 'signed-in');
    expect(changed.payload.account.user?.id).toBe(who.id);

    const file = await stat(t.desktop.paths.cloudSessionPath);
    expect(file.mode & 0o777).toBe(0o600);
    expect((await stat(t.desktop.paths.stateDir)).mode & 0o777).toBe(0o700);
    const refreshToken = await storedRefreshToken(t);
    expect(refreshToken).toBeTruthy();

    // Everything the UI could see from a session: answers and frames.
    const seen: unknown[] = [answer.body, (await t.call('account.status')).body];
    const created = await t.call('workspaces.create', { name: 'Team' });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    seen.push(created.body, (await t.call('workspaces.list')).body, events.events);
    const access = await t.desktop.cloud.session.accessToken();
    const text = JSON.stringify(seen);
    expect(text).not.toContain(access);
    expect(text).not.toContain(refreshToken);
    expect(text).not.toMatch(/accessToken|refreshToken/);
    for (const line of t.logs.raw) {
      expect(line).not.toContain(access);
      expect(line).not.toContain(refreshToken as string);
    }
    events.close();
  });

  it('has no output or event field that could carry a session token', () => {
    const names = (schema: { toJSONSchema: (o: object) => unknown }) =>
      [
        ...JSON.stringify(schema.toJSONSchema({ io: 'output', unrepresentable: 'any' })).matchAll(
          /"([A-Za-z_]+)":/g,
        ),
      ].map((match) => match[1] ?? '');
    const sessionish = /access|refresh|bearer|authorization|jwt/i;
    for (const [command, { output }] of Object.entries(DesktopCommands)) {
      const fields = names(output);
      expect(
        fields.filter((name) => sessionish.test(name)),
        command,
      ).toEqual([]);
      // The one token an answer carries: an invitation's, shown once for the owner to pass on.
      if (command !== 'invitations.create')
        expect(
          fields.filter((name) => /token$/i.test(name) && name !== 'maxTokens'),
          command,
        ).toEqual([]);
    }
    for (const [type, payload] of Object.entries(DesktopEventsToUi))
      expect(
        names(payload).filter((name) => /token|access|refresh/i.test(name)),
        type,
      ).toEqual([]);
  });

  it('answers a wrong password in plain words, and a call before sign-in with DESKTOP_CLOUD_SIGNED_OUT', async () => {
    const who = await person();
    const t = await desktop();
    const wrong = await t.call('account.signIn', { email: who.email, password: 'not the password 1' });
    expect(wrong.status).toBe(401);
    expect(codeOf(wrong.body)).toBe('AUTH_INVALID_CREDENTIALS');
    expect((wrong.body as ErrorEnvelope).error.message).toMatch(/wrong|locked/);
    const before = await t.call('workspaces.list');
    expect(before.status).toBe(401);
    expect(codeOf(before.body)).toBe('DESKTOP_CLOUD_SIGNED_OUT');
  });

  it('refreshes an expired access token, rotating the refresh token on disk', async () => {
    const { t } = await signedIn();
    const first = await storedRefreshToken(t);
    clockOffsetMs += 11 * 60_000;
    const list = await t.call('workspaces.list');
    expect(list.status, JSON.stringify(list.body)).toBe(200);
    const second = await storedRefreshToken(t);
    expect(second).toBeTruthy();
    expect(second).not.toBe(first);
  });

  it('refreshes once for two parallel calls that find the token expired (a second refresh would be reuse)', async () => {
    const { t } = await signedIn();
    const refreshes: string[] = [];
    const real = globalThis.fetch;
    const spy = vi.spyOn(globalThis, 'fetch').mockImplementation((input, init) => {
      const url = String(input instanceof Request ? input.url : input);
      if (url.endsWith('/v1/auth/refresh')) refreshes.push(url);
      return real(input, init);
    });
    try {
      clockOffsetMs += 11 * 60_000;
      const [a, b, c] = await Promise.all([
        t.call('workspaces.list'),
        t.call('workspaces.create', { name: 'Parallel' }),
        t.call('account.status'),
      ]);
      expect(a.status, JSON.stringify(a.body)).toBe(200);
      expect(b.status, JSON.stringify(b.body)).toBe(200);
      expect(c.body).toMatchObject({ state: 'signed-in' });
    } finally {
      spy.mockRestore();
    }
    expect(refreshes).toHaveLength(1);
    expect((await t.call('workspaces.list')).status).toBe(200);
  });

  it('ends the session when the cloud detects a reused refresh token, and tells the UI why', async () => {
    const { t } = await signedIn();
    const events = await openEvents(t.desktop);
    const stolen = await storedRefreshToken(t);
    // Someone else uses the stored refresh token twice: the second is reuse, the cloud ends the family.
    const base = `http://127.0.0.1:${cloud.port}`;
    const refresh = () =>
      fetch(`${base}/v1/auth/refresh`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ refreshToken: stolen }),
      });
    expect((await refresh()).status).toBe(200);
    expect((await refresh()).status).toBe(401);

    const after = await t.call('workspaces.list');
    expect(after.status).toBe(401);
    expect(codeOf(after.body)).toBe('DESKTOP_CLOUD_SIGNED_OUT');
    const ended = await events.next('account.changed', (event) => event.payload.reason === 'session-ended');
    expect(ended.payload.account.state).toBe('signed-out');
    expect(ended.payload.message).toMatch(/sign in again/i);
    expect((await t.call('account.status')).body).toMatchObject({ state: 'signed-out' });
    await expect(stat(t.desktop.paths.cloudSessionPath)).rejects.toThrow(/ENOENT/);
    events.close();
  });

  it('a reuse the host itself presents (an old copy of the file) ends the session too', async () => {
    const { t } = await signedIn();
    const old = await storedRefreshToken(t);
    await t.desktop.cloud.session.refresh();
    // Put the already-exchanged token back, as a restored backup would.
    const file = JSON.parse(
      await (await import('node:fs/promises')).readFile(t.desktop.paths.cloudSessionPath, 'utf8'),
    ) as Record<string, unknown>;
    await (await import('@multiclaw/runtime/atomic-write')).writePrivateFileAtomic(
      t.desktop.paths.cloudSessionPath,
      JSON.stringify({ ...file, refreshToken: old }),
    );
    // A fresh host reads the file (the running one holds the rotated token in memory).
    const again = await startTestDesktop({
      gateway: false,
      env: { MULTICLAW_DESKTOP_STATE_DIR: t.desktop.paths.stateDir },
    });
    desktops.push(again);
    const events = await openEvents(again.desktop);
    const refused = await again.call('workspaces.list');
    expect(refused.status).toBe(401);
    expect((refused.body as ErrorEnvelope).error).toMatchObject({
      code: 'DESKTOP_CLOUD_SIGNED_OUT',
      details: { reason: 'AUTH_REFRESH_TOKEN_REUSED' },
    });
    const ended = await events.next('account.changed', (event) => event.payload.reason === 'session-ended');
    expect(ended.payload.message).toMatch(/used twice/);
    // The cloud ended the whole family: the first host's session is over too.
    expect((await t.call('workspaces.list')).status).toBe(401);
    events.close();
  });

  it('signing in as someone else replaces the session: the old one ends at the cloud, the real-time socket follows', async () => {
    const { t } = await signedIn();
    await vi.waitFor(() => expect(t.desktop.cloud.realtime.ready).toBe(true), { timeout: 20_000 });
    const oldAccess = await t.desktop.cloud.session.accessToken();
    const { connects } = t.desktop.cloud.realtime.stats;
    const events = await openEvents(t.desktop);
    const other = await person();
    const answer = await t.call('account.signIn', { email: other.email, password: PASSWORD });
    expect(answer.body).toMatchObject({ state: 'signed-in', user: { id: other.id } });
    await events.next('account.changed', (event) => event.payload.account.user?.id === other.id);
    await vi.waitFor(async () => {
      const me = await fetch(`http://127.0.0.1:${cloud.port}/v1/me`, {
        headers: { authorization: `Bearer ${oldAccess}` },
      });
      expect(me.status).toBe(401);
    });
    await vi.waitFor(() => expect(t.desktop.cloud.realtime.stats.connects).toBeGreaterThan(connects), {
      timeout: 20_000,
    });
    await vi.waitFor(() => expect(t.desktop.cloud.realtime.ready).toBe(true), { timeout: 20_000 });
    events.close();
  });

  it('signs out: the cloud ends the session and the file is gone', async () => {
    const { t } = await signedIn();
    const access = await t.desktop.cloud.session.accessToken();
    const out = await t.call('account.signOut');
    expect(out.body).toMatchObject({ state: 'signed-out' });
    await expect(stat(t.desktop.paths.cloudSessionPath)).rejects.toThrow(/ENOENT/);
    const me = await fetch(`http://127.0.0.1:${cloud.port}/v1/me`, {
      headers: { authorization: `Bearer ${access}` },
    });
    expect(me.status).toBe(401);
  });

  it("passes the cloud's refusal through when a member calls an owner's action", async () => {
    const owner = await person();
    const wid = await cloud.api.workspace(owner.token);
    const { t, who } = await signedIn();
    const base = `http://127.0.0.1:${cloud.port}`;
    const invitation = (await (
      await fetch(`${base}/v1/workspaces/${wid}/invitations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${owner.token}` },
        body: JSON.stringify({ email: who.email, role: 'member' }),
      })
    ).json()) as { token: string };
    const accepted = await t.call('invitations.accept', { token: invitation.token });
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(200);
    expect(accepted.body).toMatchObject({ workspaceId: wid, role: 'member' });

    expect((await t.call('workspaceAgents.list', { workspaceId: wid })).status).toBe(200);
    for (const [command, input] of [
      ['workspaces.rename', { workspaceId: wid, name: 'Mine now' }],
      ['members.list', { workspaceId: wid }],
      [
        'workspaceAgents.create',
        { workspaceId: wid, agent: { name: 'x', provider: 'openai', model: 'gpt-4o' } },
      ],
      ['secrets.create', { workspaceId: wid, secret: { name: 'KEY', value: 'v' } }],
      ['audit.list', { workspaceId: wid }],
    ] as const) {
      const refused = await t.call(command, input);
      expect(refused.status, `${command}: ${JSON.stringify(refused.body)}`).toBe(403);
      expect(codeOf(refused.body)).toBe('FORBIDDEN');
    }
    // Another workspace's resource is a 404, as the cloud says.
    const stranger = await cloud.api.workspace((await person()).token);
    expect(codeOf((await t.call('workspaceAgents.list', { workspaceId: stranger })).body)).toBe('NOT_FOUND');
  });

  it('forwards real-time events of the cloud to the UI', async () => {
    const { t, who } = await signedIn();
    const events = await openEvents(t.desktop);
    const created = await t.call('workspaces.create', { name: 'Live' });
    const wid = (created.body as { id: string }).id;
    await vi.waitFor(() => expect(t.desktop.cloud.realtime.ready).toBe(true), { timeout: 20_000 });
    const agent = await t.call('workspaceAgents.create', {
      workspaceId: wid,
      agent: { name: 'Helper', provider: 'openai', model: 'gpt-4o' },
    });
    expect(agent.status, JSON.stringify(agent.body)).toBe(200);
    const event = await events.next('cloud.event', (e) => e.payload.event.kind === 'agent.changed');
    expect(event.payload.event).toMatchObject({
      workspaceId: wid,
      agentId: (agent.body as { id: string }).id,
    });
    expect(who.id).toBeTruthy();
    events.close();
  });

  it('ends the session live when it is revoked from another device (the real-time socket closes, a refresh is refused)', async () => {
    const { t, who } = await signedIn();
    const events = await openEvents(t.desktop);
    await vi.waitFor(() => expect(t.desktop.cloud.realtime.ready).toBe(true), { timeout: 20_000 });
    const base = `http://127.0.0.1:${cloud.port}`;
    const sessions = (await (
      await fetch(`${base}/v1/auth/sessions`, { headers: { authorization: `Bearer ${who.token}` } })
    ).json()) as { items: Array<{ id: string; clientName: string | null }> };
    const desktopSession = sessions.items.find((session) => session.clientName === 'MultiClaw desktop');
    expect(desktopSession).toBeDefined();
    const revoked = await fetch(`${base}/v1/auth/sessions/${desktopSession?.id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${who.token}` },
    });
    expect(revoked.status).toBeLessThan(300);
    const ended = await events.next('account.changed', (event) => event.payload.reason === 'session-ended');
    expect(ended.payload.account.state).toBe('signed-out');
    await vi.waitFor(() => expect(t.desktop.cloud.realtime.ready).toBe(false));
    events.close();
  });

  it('reconnects the real-time socket when the cloud comes back, and forwards events again', async () => {
    const { t } = await signedIn();
    const events = await openEvents(t.desktop);
    const wid = ((await t.call('workspaces.create', { name: 'Restarts' })).body as { id: string }).id;
    await vi.waitFor(() => expect(t.desktop.cloud.realtime.ready).toBe(true), { timeout: 20_000 });
    await cloud.stop();
    await vi.waitFor(() => expect(t.desktop.cloud.realtime.ready).toBe(false), { timeout: 20_000 });
    await cloud.start();
    await vi.waitFor(() => expect(t.desktop.cloud.realtime.ready).toBe(true), {
      timeout: 60_000,
      interval: 200,
    });
    const agent = await t.call('workspaceAgents.create', {
      workspaceId: wid,
      agent: { name: 'After restart', provider: 'openai', model: 'gpt-4o' },
    });
    expect(agent.status, JSON.stringify(agent.body)).toBe(200);
    const event = await events.next(
      'cloud.event',
      (e) => e.payload.event.agentId === (agent.body as { id: string }).id,
    );
    expect(event.payload.event.kind).toBe('agent.changed');
    events.close();
  }, 120_000);

  it("runs every workspace command an owner uses against the cloud's endpoints", async () => {
    const { t, who } = await signedIn();
    const ok = async (command: string, input: Record<string, unknown>) => {
      const answer = await t.call(command, input);
      expect(answer.status, `${command}: ${JSON.stringify(answer.body)}`).toBe(200);
      return answer.body as { [field: string]: unknown; id: string; token: string; items: unknown[] };
    };
    const workspace = await ok('workspaces.create', { name: 'Tour' });
    const workspaceId = workspace.id as string;
    expect(workspace).toMatchObject({ name: 'Tour', role: 'owner' });
    expect(await ok('workspaces.rename', { workspaceId, name: 'Tour 2' })).toMatchObject({ name: 'Tour 2' });
    expect(((await ok('workspaces.list', {})).items as Array<{ id: string }>).map((w) => w.id)).toContain(
      workspaceId,
    );

    // Members and invitations: invite, list, revoke; a second person joins, changes role, takes ownership, is removed.
    const pending = await ok('invitations.create', {
      workspaceId,
      email: 'someone@example.com',
      role: 'member',
    });
    expect(pending.token).toBeTruthy();
    expect(((await ok('invitations.list', { workspaceId })).items as unknown[]).length).toBe(1);
    expect(await ok('invitations.revoke', { workspaceId, invitationId: pending.id })).toEqual({ ok: true });
    expect(((await ok('invitations.list', { workspaceId })).items as unknown[]).length).toBe(0);
    const other = await person();
    const invite = await ok('invitations.create', { workspaceId, email: other.email, role: 'member' });
    const join = await fetch(`http://127.0.0.1:${cloud.port}/v1/invitations/accept`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${other.token}` },
      body: JSON.stringify({ token: invite.token }),
    });
    expect(join.status).toBe(200);
    const roleOf = async (userId: string) =>
      ((await ok('members.list', { workspaceId })).items as Array<{ userId: string; role: string }>).find(
        (member) => member.userId === userId,
      )?.role;
    expect(await roleOf(other.id)).toBe('member');
    expect(await ok('members.changeRole', { workspaceId, userId: other.id, role: 'owner' })).toEqual({
      ok: true,
    });
    expect(await roleOf(other.id)).toBe('owner');
    expect(await ok('members.changeRole', { workspaceId, userId: other.id, role: 'member' })).toEqual({
      ok: true,
    });

    // Agents and the vault: a secret granted to an agent, revealed only on request, never in a log line.
    const agent = await ok('workspaceAgents.create', {
      workspaceId,
      agent: { name: 'Writer', provider: 'openai', model: 'gpt-4o' },
    });
    expect(
      await ok('workspaceAgents.update', { workspaceId, agentId: agent.id, changes: { model: 'gpt-4.1' } }),
    ).toMatchObject({
      model: 'gpt-4.1',
    });
    expect(((await ok('workspaceAgents.list', { workspaceId })).items as unknown[]).length).toBe(1);
    const value = `sk-tour-${Math.random().toString(36).slice(2)}`;
    const secret = await ok('secrets.create', {
      workspaceId,
      secret: { name: 'OPENAI_KEY', value, agentIds: [agent.id] },
    });
    expect(JSON.stringify(secret)).not.toContain(value);
    const listed = await ok('secrets.list', { workspaceId });
    expect(JSON.stringify(listed)).not.toContain(value);
    expect(await ok('secrets.reveal', { workspaceId, secretId: secret.id })).toEqual({ value });
    const rotated = `${value}-2`;
    expect(
      await ok('secrets.update', { workspaceId, secretId: secret.id, changes: { value: rotated } }),
    ).toMatchObject({
      version: 2,
    });
    expect(await ok('secrets.reveal', { workspaceId, secretId: secret.id })).toEqual({ value: rotated });
    for (const line of t.logs.raw) expect(line).not.toContain(value);
    expect(await ok('secrets.delete', { workspaceId, secretId: secret.id })).toEqual({ ok: true });
    expect(await ok('workspaceAgents.delete', { workspaceId, agentId: agent.id })).toEqual({ ok: true });

    // Gateways, transcripts and the audit log (empty lists here; the link test fills the gateways).
    expect(await ok('gateways.list', { workspaceId })).toMatchObject({ items: [] });
    expect(await ok('transcripts.list', { workspaceId })).toMatchObject({ items: [] });
    const audit = await ok('audit.list', { workspaceId, limit: 100 });
    const actions = (audit.items as Array<{ action: string }>).map((entry) => entry.action);
    expect(actions.length).toBeGreaterThan(3);
    const secretsOnly = await ok('audit.list', { workspaceId, action: 'secret.' });
    expect(
      (secretsOnly.items as Array<{ action: string }>).every((entry) => entry.action.startsWith('secret.')),
    ).toBe(true);

    // Ownership handed over, then the new owner removes the old one (who can no longer see the workspace).
    expect(await ok('members.transfer', { workspaceId, userId: other.id })).toEqual({ ok: true });
    const mine = (await ok('workspaces.list', {})).items as Array<{ id: string; role: string }>;
    expect(mine.find((w) => w.id === workspaceId)?.role).toBe('member');
    const removed = await fetch(
      `http://127.0.0.1:${cloud.port}/v1/workspaces/${workspaceId}/members/${who.id}`,
      {
        method: 'DELETE',
        headers: { authorization: `Bearer ${other.token}` },
      },
    );
    expect(removed.status).toBe(204);
    expect(codeOf((await t.call('members.list', { workspaceId })).body)).toBe('NOT_FOUND');

    const own = await ok('workspaces.create', { name: 'Gone soon' });
    expect(await ok('workspaces.delete', { workspaceId: own.id })).toEqual({ ok: true });
    expect(((await ok('workspaces.list', {})).items as Array<{ id: string }>).map((w) => w.id)).not.toContain(
      own.id,
    );
  });

  it('contacts no cloud in local-only mode, and sends no token to another cloud chosen in settings', async () => {
    const { t } = await signedIn();
    await vi.waitFor(() => expect(t.desktop.cloud.realtime.ready).toBe(true), { timeout: 20_000 });
    expect((await t.call('settings.update', { localOnly: true })).status).toBe(200);
    const refused = await t.call('workspaces.list');
    expect(refused.status).toBe(409);
    expect(codeOf(refused.body)).toBe('DESKTOP_CLOUD_NOT_CONFIGURED');
    expect((await t.call('account.status')).body).toMatchObject({ state: 'signed-out' });
    await expect(t.desktop.cloud.session.refresh()).rejects.toMatchObject({
      code: 'DESKTOP_CLOUD_NOT_CONFIGURED',
    });
    expect((await t.call('settings.update', { localOnly: false })).status).toBe(200);
    expect((await t.call('workspaces.list')).status).toBe(200);

    const elsewhere = await startFileServer();
    try {
      expect((await t.call('settings.update', { cloudUrl: elsewhere.origin })).status).toBe(200);
      const other = await t.call('workspaces.list');
      expect(other.status).toBe(401);
      expect(codeOf(other.body)).toBe('DESKTOP_CLOUD_SIGNED_OUT');
      await expect(t.desktop.cloud.session.refresh()).rejects.toMatchObject({
        code: 'DESKTOP_CLOUD_SIGNED_OUT',
      });
      expect(elsewhere.requests).toEqual([]);
    } finally {
      await t.call('settings.update', { cloudUrl: cloud.url });
      await elsewhere.close();
    }
    expect((await t.call('account.status')).body).toMatchObject({ state: 'signed-in' });
  });

  it("a chat window's event stream hears nothing of the cloud session", async () => {
    const who = await person();
    const t = await desktop();
    const main = await openEvents(t.desktop);
    const chat = await openEvents(t.desktop, 'chat');
    expect((await t.call('account.signIn', { email: who.email, password: PASSWORD })).status).toBe(200);
    const wid = ((await t.call('workspaces.create', { name: 'Quiet' })).body as { id: string }).id;
    await vi.waitFor(() => expect(t.desktop.cloud.realtime.ready).toBe(true), { timeout: 20_000 });
    const agent = await t.call('workspaceAgents.create', {
      workspaceId: wid,
      agent: { name: 'Heard by main', provider: 'openai', model: 'gpt-4o' },
    });
    await main.next('cloud.event', (e) => e.payload.event.agentId === (agent.body as { id: string }).id);
    await t.call('account.signOut');
    await main.next('account.changed', (e) => e.payload.reason === 'signed-out');
    // The chat window's stream is open and authenticated, and heard none of it.
    expect(chat.events.map((event) => event.type)).not.toContain('cloud.event');
    expect(chat.events.map((event) => event.type)).not.toContain('account.changed');
    expect(JSON.stringify(chat.events)).not.toContain(who.email);
    main.close();
    chat.close();
  });

  it('is refused to a chat window', async () => {
    const t = await desktop();
    for (const command of ['account.status', 'account.signIn', 'workspaces.list', 'secrets.reveal']) {
      const denied = await t.call(command, {}, { window: 'chat' });
      expect(denied.status).toBe(403);
      expect(codeOf(denied.body)).toBe('DESKTOP_COMMAND_DENIED');
    }
  });
});

describe('throttled sign-in', () => {
  let throttled: TestCloud;
  beforeAll(async () => {
    throttled = await startTestCloud({ env: { AUTH_RATE_LIMIT_MAX: '3' } });
  }, 120_000);
  afterAll(async () => {
    await throttled?.drop();
  }, 60_000);

  it('says how long to wait, in plain words, in the RATE_LIMITED envelope', async () => {
    const t = await startTestDesktop({ gateway: false });
    desktops.push(t);
    await t.call('settings.update', { cloudUrl: throttled.url });
    let answer = await t.call('account.signIn', {
      email: 'nobody@example.com',
      password: 'wrong password 1',
    });
    for (let attempt = 0; attempt < 10 && answer.status !== 429; attempt += 1)
      answer = await t.call('account.signIn', { email: 'nobody@example.com', password: 'wrong password 1' });
    expect(answer.status).toBe(429);
    expect(codeOf(answer.body)).toBe('RATE_LIMITED');
    expect((answer.body as ErrorEnvelope).error.message).toMatch(
      /^Too many attempts\. Wait \d+ seconds? and try again\.$/,
    );
  });
});

describe('short-lived access tokens', () => {
  let shortLived: TestCloud;
  beforeAll(async () => {
    shortLived = await startTestCloud({ env: { AUTH_ACCESS_TOKEN_TTL_SECONDS: '60' } });
  }, 120_000);
  afterAll(async () => {
    await shortLived?.drop();
  }, 60_000);

  it('sends the real-time socket a fresh token before the current one expires, on the same socket', async () => {
    const email = `short-${Date.now()}@example.com`;
    await fetch(`http://127.0.0.1:${shortLived.port}/v1/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: PASSWORD }),
    });
    const t = await startTestDesktop({ gateway: false });
    desktops.push(t);
    await t.call('settings.update', { cloudUrl: shortLived.url });
    expect((await t.call('account.signIn', { email, password: PASSWORD })).status).toBe(200);
    const events = await openEvents(t.desktop);
    const wid = ((await t.call('workspaces.create', { name: 'Long lived' })).body as { id: string }).id;
    await vi.waitFor(() => expect(t.desktop.cloud.realtime.ready).toBe(true), { timeout: 20_000 });
    const { connects } = t.desktop.cloud.realtime.stats;
    const before = await storedRefreshToken(t);
    // 60-second tokens: the fresh one goes out halfway through, on the socket already open.
    await vi.waitFor(() => expect(t.desktop.cloud.realtime.stats.reauths).toBeGreaterThan(0), {
      timeout: 90_000,
      interval: 500,
    });
    expect(t.desktop.cloud.realtime.stats.connects).toBe(connects);
    expect(await storedRefreshToken(t)).not.toBe(before);
    const agent = await t.call('workspaceAgents.create', {
      workspaceId: wid,
      agent: { name: 'Still live', provider: 'openai', model: 'gpt-4o' },
    });
    await events.next('cloud.event', (e) => e.payload.event.agentId === (agent.body as { id: string }).id);
    expect(t.desktop.cloud.realtime.stats.connects).toBe(connects);
    events.close();
  }, 150_000);
});
