import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ErrorEnvelope } from '@multiclaw/protocol';
import { manualClock } from '@multiclaw/test-support/clock';
import Fastify, { type InjectOptions, type LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp } from '../../../test/support/app.js';
import { createAuditRecorder, verifyAuditChain } from '../audit/index.js';
import { createWorkspaceAccess, WORKSPACE_PREFIX } from './access.js';
import { renderPermissionsDoc } from './permissions-doc.js';

const PASSWORD = 'workspace test passphrase 1';
const clock = manualClock('2026-11-24T12:00:00Z');
let ctx: Awaited<ReturnType<typeof createTestApp>>;

beforeAll(async () => {
  ctx = await createTestApp({ now: clock.now, env: { AUTH_RATE_LIMIT_MAX: '100000' } });
});
afterAll(async () => {
  await ctx?.close();
});

type User = { id: string; email: string; token: string };
type TestApp = typeof ctx.app;

async function user(): Promise<User> {
  const email = `ws-${randomBytes(5).toString('hex')}@example.com`;
  const registered = await ctx.app.inject({
    method: 'POST',
    url: '/v1/auth/register',
    payload: { email, password: PASSWORD },
  });
  expect(registered.statusCode).toBe(201);
  const login = await ctx.app.inject({
    method: 'POST',
    url: '/v1/auth/login',
    payload: { email, password: PASSWORD },
  });
  return { id: registered.json().user.id, email, token: login.json().accessToken };
}

function as(who: User | undefined, options: InjectOptions): Promise<LightMyRequestResponse> {
  return ctx.app.inject({
    ...options,
    headers: { ...(who ? { authorization: `Bearer ${who.token}` } : {}), ...options.headers },
  });
}

async function workspaceOf(owner: User, name = 'Team'): Promise<string> {
  const created = await as(owner, { method: 'POST', url: '/v1/workspaces', payload: { name } });
  expect(created.statusCode).toBe(201);
  return created.json().id;
}

async function invite(owner: User, wid: string, email: string, role: 'owner' | 'member' = 'member') {
  const response = await as(owner, {
    method: 'POST',
    url: `/v1/workspaces/${wid}/invitations`,
    payload: { email, role },
  });
  expect(response.statusCode, response.body).toBe(201);
  return response.json() as { id: string; token: string };
}

async function join(owner: User, wid: string, who: User, role: 'owner' | 'member' = 'member') {
  const { token } = await invite(owner, wid, who.email, role);
  const accepted = await as(who, { method: 'POST', url: '/v1/invitations/accept', payload: { token } });
  expect(accepted.statusCode, accepted.body).toBe(200);
}

const codeOf = (response: LightMyRequestResponse) => ErrorEnvelope.parse(response.json()).error.code;
const roleOf = async (wid: string, uid: string) =>
  (
    await ctx.app.db.membership.findUnique({
      where: { workspaceId_userId: { workspaceId: wid, userId: uid } },
    })
  )?.role;

describe('workspaces', () => {
  it('the creator becomes the owner; it lists, reads and renames', async () => {
    const owner = await user();
    const wid = await workspaceOf(owner, 'Research');
    const list = await as(owner, { method: 'GET', url: '/v1/workspaces' });
    expect(list.json().items).toEqual([
      expect.objectContaining({ id: wid, name: 'Research', role: 'owner' }),
    ]);
    const renamed = await as(owner, {
      method: 'PATCH',
      url: `/v1/workspaces/${wid}`,
      payload: { name: 'Lab' },
    });
    expect(renamed.json()).toMatchObject({ id: wid, name: 'Lab', role: 'owner' });
    expect((await as(owner, { method: 'GET', url: `/v1/workspaces/${wid}` })).json().name).toBe('Lab');
  });

  it('a non-member gets 404, the same as for a workspace that does not exist; a member gets 403 for owner actions', async () => {
    const owner = await user();
    const member = await user();
    const stranger = await user();
    const wid = await workspaceOf(owner);
    await join(owner, wid, member);
    const foreign = await as(stranger, { method: 'GET', url: `/v1/workspaces/${wid}` });
    const missing = await as(stranger, {
      method: 'GET',
      url: '/v1/workspaces/00000000-0000-4000-8000-000000000000',
    });
    expect(foreign.statusCode).toBe(404);
    expect(foreign.body.replace(/"requestId":"[^"]+"/, '')).toBe(
      missing.body.replace(/"requestId":"[^"]+"/, ''),
    );
    expect((await as(member, { method: 'GET', url: `/v1/workspaces/${wid}` })).json().role).toBe('member');
    const rename = await as(member, {
      method: 'PATCH',
      url: `/v1/workspaces/${wid}`,
      payload: { name: 'Mine now' },
    });
    expect(rename.statusCode).toBe(403);
    expect(codeOf(rename)).toBe('FORBIDDEN');
    expect((await as(member, { method: 'GET', url: `/v1/workspaces/${wid}/members` })).statusCode).toBe(403);
    expect((await as(undefined, { method: 'GET', url: `/v1/workspaces/${wid}` })).statusCode).toBe(401);
  });

  it('deleting a workspace removes everything in it', async () => {
    const owner = await user();
    const member = await user();
    const wid = await workspaceOf(owner);
    await join(owner, wid, member);
    await invite(owner, wid, 'pending@example.com');
    await ctx.app.db.agent.create({
      data: { workspaceId: wid, name: 'helper', provider: 'openai', model: 'gpt' },
    });
    expect((await as(member, { method: 'DELETE', url: `/v1/workspaces/${wid}` })).statusCode).toBe(403);
    expect((await as(owner, { method: 'DELETE', url: `/v1/workspaces/${wid}` })).statusCode).toBe(204);
    expect(await ctx.app.db.membership.count({ where: { workspaceId: wid } })).toBe(0);
    expect(await ctx.app.db.invitation.count({ where: { workspaceId: wid } })).toBe(0);
    expect(await ctx.app.db.agent.count({ where: { workspaceId: wid } })).toBe(0);
    expect((await as(member, { method: 'GET', url: `/v1/workspaces/${wid}` })).statusCode).toBe(404);
  });
});

describe('the last owner', () => {
  it('cannot be demoted, removed, or leave', async () => {
    const owner = await user();
    const member = await user();
    const wid = await workspaceOf(owner);
    await join(owner, wid, member);
    for (const response of [
      await as(owner, {
        method: 'PATCH',
        url: `/v1/workspaces/${wid}/members/${owner.id}`,
        payload: { role: 'member' },
      }),
      await as(owner, { method: 'DELETE', url: `/v1/workspaces/${wid}/members/${owner.id}` }),
    ]) {
      expect(response.statusCode).toBe(409);
      expect(codeOf(response)).toBe('WORKSPACE_LAST_OWNER');
    }
    expect(await roleOf(wid, owner.id)).toBe('owner');
  });

  it('two owners demoting each other at once leave exactly one owner', async () => {
    const a = await user();
    const b = await user();
    const wid = await workspaceOf(a);
    await join(a, wid, b, 'owner');
    const results = await Promise.all([
      as(a, { method: 'PATCH', url: `/v1/workspaces/${wid}/members/${b.id}`, payload: { role: 'member' } }),
      as(b, { method: 'PATCH', url: `/v1/workspaces/${wid}/members/${a.id}`, payload: { role: 'member' } }),
    ]);
    // One wins. The other is refused: by the last-owner rule (409) if it got past the
    // access check first, or as a member who may no longer change roles (403).
    const [winner, loser] = results.map((r) => r.statusCode).sort();
    expect(winner).toBe(204);
    expect([403, 409]).toContain(loser);
    expect(await ctx.app.db.membership.count({ where: { workspaceId: wid, role: 'owner' } })).toBe(1);
  });

  it('with another owner, an owner may step down or leave', async () => {
    const a = await user();
    const b = await user();
    const wid = await workspaceOf(a);
    await join(a, wid, b, 'owner');
    expect((await as(a, { method: 'DELETE', url: `/v1/workspaces/${wid}/members/${a.id}` })).statusCode).toBe(
      204,
    );
    expect(await roleOf(wid, a.id)).toBeUndefined();
    expect(await roleOf(wid, b.id)).toBe('owner');
  });
});

describe('members', () => {
  it('owners list members, change roles and remove; members may only leave', async () => {
    const owner = await user();
    const m1 = await user();
    const m2 = await user();
    const wid = await workspaceOf(owner);
    await join(owner, wid, m1);
    await join(owner, wid, m2);
    const list = await as(owner, { method: 'GET', url: `/v1/workspaces/${wid}/members` });
    expect(
      list
        .json()
        .items.map((m: { email: string }) => m.email)
        .sort(),
    ).toEqual([owner.email, m1.email, m2.email].sort());
    expect(
      (await as(m1, { method: 'DELETE', url: `/v1/workspaces/${wid}/members/${m2.id}` })).statusCode,
    ).toBe(403);
    expect(
      (
        await as(m1, {
          method: 'PATCH',
          url: `/v1/workspaces/${wid}/members/${m1.id}`,
          payload: { role: 'owner' },
        })
      ).statusCode,
    ).toBe(403);
    expect(
      (await as(m1, { method: 'DELETE', url: `/v1/workspaces/${wid}/members/${m1.id}` })).statusCode,
    ).toBe(204);
    expect(
      (await as(owner, { method: 'DELETE', url: `/v1/workspaces/${wid}/members/${m2.id}` })).statusCode,
    ).toBe(204);
    expect((await as(m2, { method: 'GET', url: `/v1/workspaces/${wid}` })).statusCode).toBe(404);
    const ghost = await as(owner, { method: 'DELETE', url: `/v1/workspaces/${wid}/members/${m2.id}` });
    expect(ghost.statusCode).toBe(404);
  });

  it('transfers ownership: the target becomes owner, the caller a member', async () => {
    const owner = await user();
    const heir = await user();
    const wid = await workspaceOf(owner);
    await join(owner, wid, heir);
    const self = await as(owner, {
      method: 'PATCH',
      url: `/v1/workspaces/${wid}/members/${owner.id}`,
      payload: { role: 'owner', transfer: true },
    });
    expect(self.statusCode).toBe(400);
    const transfer = await as(owner, {
      method: 'PATCH',
      url: `/v1/workspaces/${wid}/members/${heir.id}`,
      payload: { role: 'owner', transfer: true },
    });
    expect(transfer.statusCode).toBe(204);
    expect(await roleOf(wid, heir.id)).toBe('owner');
    expect(await roleOf(wid, owner.id)).toBe('member');
    expect(
      (await as(owner, { method: 'PATCH', url: `/v1/workspaces/${wid}`, payload: { name: 'x' } })).statusCode,
    ).toBe(403);
  });
});

describe('invitations', () => {
  it('single use; revoked, expired, used and unknown tokens answer identically', async () => {
    const owner = await user();
    const wid = await workspaceOf(owner);
    const invited = await user();
    const other = await user();
    const body = (r: LightMyRequestResponse) => ({
      status: r.statusCode,
      body: r.body.replace(/"requestId":"[^"]+"/, ''),
    });
    const unknown = body(
      await as(invited, { method: 'POST', url: '/v1/invitations/accept', payload: { token: 'nope' } }),
    );
    expect(unknown.status).toBe(404);

    const used = await invite(owner, wid, invited.email);
    expect(
      (await as(invited, { method: 'POST', url: '/v1/invitations/accept', payload: { token: used.token } }))
        .statusCode,
    ).toBe(200);
    expect(
      body(
        await as(invited, { method: 'POST', url: '/v1/invitations/accept', payload: { token: used.token } }),
      ),
    ).toEqual(unknown);

    const revoked = await invite(owner, wid, other.email);
    expect(
      (await as(owner, { method: 'DELETE', url: `/v1/workspaces/${wid}/invitations/${revoked.id}` }))
        .statusCode,
    ).toBe(204);
    expect(
      body(
        await as(other, { method: 'POST', url: '/v1/invitations/accept', payload: { token: revoked.token } }),
      ),
    ).toEqual(unknown);

    const expiring = await invite(owner, wid, other.email);
    clock.advanceMs(7 * 24 * 3600 * 1000 + 1000);
    // A week later the old access token has long expired: sign in again.
    const login = await ctx.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: other.email, password: PASSWORD },
    });
    other.token = login.json().accessToken;
    expect(
      body(
        await as(other, {
          method: 'POST',
          url: '/v1/invitations/accept',
          payload: { token: expiring.token },
        }),
      ),
    ).toEqual(unknown);
    expect((await as(other, { method: 'GET', url: `/v1/workspaces/${wid}` })).statusCode).toBe(404);
  });

  it('must be accepted by the invited email, normalised', async () => {
    const owner = await user();
    const wid = await workspaceOf(owner);
    const invited = await user();
    const intruder = await user();
    const { token } = await invite(owner, wid, `  ${invited.email.toUpperCase()} `);
    const wrong = await as(intruder, { method: 'POST', url: '/v1/invitations/accept', payload: { token } });
    expect(wrong.statusCode).toBe(403);
    expect(codeOf(wrong)).toBe('INVITATION_EMAIL_MISMATCH');
    const right = await as(invited, { method: 'POST', url: '/v1/invitations/accept', payload: { token } });
    expect(right.json()).toEqual({ workspaceId: wid, role: 'member' });
  });

  it('owners list and revoke; members cannot; a member cannot be invited twice', async () => {
    const owner = await user();
    const member = await user();
    const wid = await workspaceOf(owner);
    await join(owner, wid, member);
    const pending = await invite(owner, wid, 'someone@example.com', 'owner');
    const list = await as(owner, { method: 'GET', url: `/v1/workspaces/${wid}/invitations` });
    expect(list.json().items).toEqual([
      expect.objectContaining({ id: pending.id, email: 'someone@example.com', role: 'owner' }),
    ]);
    expect(JSON.stringify(list.json())).not.toContain(pending.token);
    expect((await as(member, { method: 'GET', url: `/v1/workspaces/${wid}/invitations` })).statusCode).toBe(
      403,
    );
    expect(
      (
        await as(member, {
          method: 'POST',
          url: `/v1/workspaces/${wid}/invitations`,
          payload: { email: 'x@example.com', role: 'member' },
        })
      ).statusCode,
    ).toBe(403);
    const again = await as(owner, {
      method: 'POST',
      url: `/v1/workspaces/${wid}/invitations`,
      payload: { email: member.email, role: 'member' },
    });
    expect(codeOf(again)).toBe('MEMBER_ALREADY');
    const stored = await ctx.app.db.invitation.findUniqueOrThrow({ where: { id: pending.id } });
    expect(Buffer.from(stored.tokenHash).toString('base64url')).not.toBe(pending.token);
  });
});

describe('the permission matrix', () => {
  /** The scope's declaration hook on a bare server: does a route in it get past start-up? */
  async function startScopeWith(config: Record<string, unknown>) {
    const access = createWorkspaceAccess({
      db: ctx.app.db,
      audit: createAuditRecorder({ db: ctx.app.db, now: clock.now }),
    });
    const app = Fastify();
    await app.register(
      async (scope) => {
        scope.addHook('onRoute', access.declaration);
        scope.get('/unguarded', { config }, async () => ({}));
      },
      { prefix: WORKSPACE_PREFIX },
    );
    await app.ready();
    await app.close();
    return access.routeTable;
  }

  it('refuses to start when a route in the workspace scope declares no action, or an unknown one', async () => {
    await expect(startScopeWith({})).rejects.toThrow(/declares no permission action/);
    await expect(startScopeWith({ action: 'workspace.own' })).rejects.toThrow(
      /unknown action "workspace.own"/,
    );
    expect(await startScopeWith({ action: 'workspace.read' })).toEqual([`GET ${WORKSPACE_PREFIX}/unguarded`]);
  });

  it('refuses to start when a workspace route is registered outside the workspace scope', async () => {
    const startWith = (addRoute: (app: TestApp) => void | Promise<void>) =>
      createTestApp({ databaseUrl: ctx.databaseUrl, beforeReady: addRoute });
    await expect(
      startWith((app) => void app.get('/v1/workspaces/:wid/unguarded', async () => ({}))),
    ).rejects.toThrow(
      /GET \/v1\/workspaces\/:wid\/unguarded is a workspace route registered outside the workspace scope/,
    );
    // Declaring an action does not help: outside the scope nothing enforces it.
    await expect(
      startWith(
        (app) =>
          void app.get('/v1/workspaces/:wid', { config: { action: 'workspace.read' } }, async () => ({})),
      ),
    ).rejects.toThrow(/outside the workspace scope/);
    // Nor does a plugin of its own under the same prefix.
    await expect(
      startWith(async (app) => {
        await app.register(async (elsewhere) => void elsewhere.get('/unguarded', async () => ({})), {
          prefix: WORKSPACE_PREFIX,
        });
      }),
    ).rejects.toThrow(/outside the workspace scope/);
    await expect(
      startWith(
        (app) => void app.get('/v1/elsewhere', { config: { action: 'workspace.read' } }, async () => ({})),
      ),
    ).rejects.toThrow(/declares a permission action outside the workspace scope/);
  });

  it('docs/permissions.md matches the matrix (run `pnpm --filter @multiclaw/cloud docs:permissions`)', () => {
    const committed = readFileSync(new URL('../../../../../docs/permissions.md', import.meta.url), 'utf8');
    expect(committed).toBe(renderPermissionsDoc());
  });
});

describe("members' auth events in the workspace audit log", () => {
  it('records once per session the first time it reaches the workspace, in the verified chain', async () => {
    const owner = await user();
    const member = await user();
    const wid = await workspaceOf(owner);
    await join(owner, wid, member);
    for (let i = 0; i < 3; i++)
      expect((await as(member, { method: 'GET', url: `/v1/workspaces/${wid}` })).statusCode).toBe(200);
    const events = () =>
      ctx.app.db.auditEvent.findMany({
        where: { workspaceId: wid, action: 'auth.session.workspace_access', actorId: member.id },
      });
    expect(await events()).toHaveLength(1);
    // A new sign-in is a new session: recorded again.
    const again = await ctx.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: member.email, password: PASSWORD },
    });
    await as({ ...member, token: again.json().accessToken }, { method: 'GET', url: `/v1/workspaces/${wid}` });
    expect(await events()).toHaveLength(2);
    const log = await as(owner, { method: 'GET', url: `/v1/workspaces/${wid}/audit?action=auth.` });
    expect(log.statusCode).toBe(200);
    expect(log.json().items.filter((e: { actorId: string }) => e.actorId === member.id)).toHaveLength(2);
    expect(await verifyAuditChain(ctx.app.db, wid)).toMatchObject({ ok: true });
  });
});
