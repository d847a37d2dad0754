import { randomBytes } from 'node:crypto';
import { ErrorEnvelope } from '@multiclaw/protocol';
import type { LightMyRequestResponse } from 'fastify';
import { beforeAll, describe, expect, it } from 'vitest';
import { testActors } from '../../../test/support/actors.js';
import { useTestApp } from '../../../test/support/app.js';

/**
 * Every audited change and its audit entry commit together or not at all.
 * The test database refuses audit entries of one chosen action (a trigger,
 * so the refusal comes from Postgres itself, inside whatever transaction the
 * app used): the change must then be absent, and the request a 500. Then the
 * same request is repeated with the refusal lifted and must change something,
 * so no case passes by changing nothing in the first place.
 */

const app = useTestApp({ env: { AUTH_RATE_LIMIT_MAX: '100000' } });
const { send, signUp, workspace } = testActors(app, {
  address: '203.0.113.9',
  userAgent: 'atomic-changes-test',
  password: 'atomic changes passphrase 1',
});

beforeAll(async () => {
  await app().app.db.$executeRawUnsafe(`
    CREATE TABLE audit_refusals (action text PRIMARY KEY)`);
  await app().app.db.$executeRawUnsafe(`
    CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF EXISTS (SELECT 1 FROM audit_refusals WHERE action = NEW.action) THEN
        RAISE EXCEPTION 'audit entry % refused by the test', NEW.action;
      END IF;
      RETURN NEW;
    END $$`);
  await app().app.db.$executeRawUnsafe(`
    CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION refuse_audit()`);
});

/** Everything a workspace-scoped change could touch, in a comparable form. */
async function stateOf(wid: string) {
  const db = app().app.db;
  const [ws, members, invitations, agents, audit] = await Promise.all([
    db.workspace.findUnique({ where: { id: wid }, select: { name: true, configVersion: true } }),
    db.membership.findMany({
      where: { workspaceId: wid },
      select: { userId: true, role: true },
      orderBy: { userId: 'asc' },
    }),
    db.invitation.findMany({
      where: { workspaceId: wid },
      select: { id: true, acceptedAt: true, revokedAt: true },
      orderBy: { id: 'asc' },
    }),
    db.agent.findMany({
      where: { workspaceId: wid },
      select: { id: true, name: true, version: true },
      orderBy: { id: 'asc' },
    }),
    // Not the first-touch entry the access hook writes for a session: that one is not the change's.
    db.auditEvent.count({ where: { workspaceId: wid, action: { not: 'auth.session.workspace_access' } } }),
  ]);
  return { ws, members, invitations, agents, audit };
}

async function refusing<T>(action: string, work: () => Promise<T>): Promise<T> {
  await app().app.db.$executeRaw`INSERT INTO audit_refusals (action) VALUES (${action})`;
  try {
    return await work();
  } finally {
    await app().app.db.$executeRaw`DELETE FROM audit_refusals WHERE action = ${action}`;
  }
}

function expectServerFault(response: LightMyRequestResponse) {
  expect(response.statusCode, response.body).toBe(500);
  expect(ErrorEnvelope.parse(response.json()).error.code).toBe('INTERNAL');
}

const emailOf = async (userId: string) =>
  (await app().app.db.user.findUniqueOrThrow({ where: { id: userId }, select: { email: true } })).email;

async function invitation(wid: string, owner: { token: string }, email: string, role = 'member') {
  const created = await send({
    method: 'POST',
    url: `/v1/workspaces/${wid}/invitations`,
    token: owner.token,
    payload: { email, role },
  });
  expect(created.statusCode, created.body).toBe(201);
  return created.json() as { id: string; token: string };
}

async function agent(wid: string, owner: { token: string }) {
  const created = await send({
    method: 'POST',
    url: `/v1/workspaces/${wid}/agents`,
    token: owner.token,
    payload: {
      name: `agent-${randomBytes(3).toString('hex')}`,
      provider: 'anthropic',
      model: 'claude-sonnet-4',
    },
  });
  expect(created.statusCode, created.body).toBe(201);
  return created.json() as { id: string };
}

type Case = {
  action: string;
  /** Builds the scene; returns the workspace to watch and the request to make. */
  scene: () => Promise<{ wid: string; act: () => Promise<LightMyRequestResponse> }>;
};

const cases: Case[] = [
  {
    action: 'workspace.renamed',
    scene: async () => {
      const owner = await signUp();
      const wid = await workspace([owner]);
      return {
        wid,
        act: () =>
          send({
            method: 'PATCH',
            url: `/v1/workspaces/${wid}`,
            token: owner.token,
            payload: { name: 'New' },
          }),
      };
    },
  },
  {
    action: 'workspace.deleted',
    scene: async () => {
      const owner = await signUp();
      const wid = await workspace([owner]);
      return { wid, act: () => send({ method: 'DELETE', url: `/v1/workspaces/${wid}`, token: owner.token }) };
    },
  },
  {
    action: 'member.role_changed',
    scene: async () => {
      const [owner, member] = await Promise.all([signUp(), signUp()]);
      const wid = await workspace([owner], [member]);
      return {
        wid,
        act: () =>
          send({
            method: 'PATCH',
            url: `/v1/workspaces/${wid}/members/${member.id}`,
            token: owner.token,
            payload: { role: 'owner' },
          }),
      };
    },
  },
  {
    action: 'ownership.transferred',
    scene: async () => {
      const [owner, heir] = await Promise.all([signUp(), signUp()]);
      const wid = await workspace([owner], [heir]);
      return {
        wid,
        act: () =>
          send({
            method: 'PATCH',
            url: `/v1/workspaces/${wid}/members/${heir.id}`,
            token: owner.token,
            payload: { role: 'owner', transfer: true },
          }),
      };
    },
  },
  {
    action: 'member.removed',
    scene: async () => {
      const [owner, member] = await Promise.all([signUp(), signUp()]);
      const wid = await workspace([owner], [member]);
      return {
        wid,
        act: () =>
          send({ method: 'DELETE', url: `/v1/workspaces/${wid}/members/${member.id}`, token: owner.token }),
      };
    },
  },
  {
    action: 'member.left',
    scene: async () => {
      const [owner, member] = await Promise.all([signUp(), signUp()]);
      const wid = await workspace([owner], [member]);
      return {
        wid,
        act: () =>
          send({ method: 'DELETE', url: `/v1/workspaces/${wid}/members/${member.id}`, token: member.token }),
      };
    },
  },
  {
    action: 'invitation.created',
    scene: async () => {
      const owner = await signUp();
      const wid = await workspace([owner]);
      const email = `invitee-${randomBytes(4).toString('hex')}@example.com`;
      return {
        wid,
        act: () =>
          send({
            method: 'POST',
            url: `/v1/workspaces/${wid}/invitations`,
            token: owner.token,
            payload: { email, role: 'member' },
          }),
      };
    },
  },
  {
    action: 'invitation.revoked',
    scene: async () => {
      const owner = await signUp();
      const wid = await workspace([owner]);
      const { id } = await invitation(wid, owner, `invitee-${randomBytes(4).toString('hex')}@example.com`);
      return {
        wid,
        act: () =>
          send({ method: 'DELETE', url: `/v1/workspaces/${wid}/invitations/${id}`, token: owner.token }),
      };
    },
  },
  {
    action: 'invitation.accepted',
    scene: async () => {
      const [owner, invitee] = await Promise.all([signUp(), signUp()]);
      const wid = await workspace([owner]);
      const { token } = await invitation(wid, owner, await emailOf(invitee.id));
      return {
        wid,
        act: () =>
          send({ method: 'POST', url: '/v1/invitations/accept', token: invitee.token, payload: { token } }),
      };
    },
  },
  {
    action: 'agent.created',
    scene: async () => {
      const owner = await signUp();
      const wid = await workspace([owner]);
      return {
        wid,
        act: () =>
          send({
            method: 'POST',
            url: `/v1/workspaces/${wid}/agents`,
            token: owner.token,
            payload: { name: 'refused', provider: 'anthropic', model: 'claude-sonnet-4' },
          }),
      };
    },
  },
  {
    action: 'agent.updated',
    scene: async () => {
      const owner = await signUp();
      const wid = await workspace([owner]);
      const { id } = await agent(wid, owner);
      return {
        wid,
        act: () =>
          send({
            method: 'PATCH',
            url: `/v1/workspaces/${wid}/agents/${id}`,
            token: owner.token,
            payload: { name: 'renamed', model: 'claude-opus-4' },
          }),
      };
    },
  },
  {
    action: 'agent.deleted',
    scene: async () => {
      const owner = await signUp();
      const wid = await workspace([owner]);
      const { id } = await agent(wid, owner);
      return {
        wid,
        act: () => send({ method: 'DELETE', url: `/v1/workspaces/${wid}/agents/${id}`, token: owner.token }),
      };
    },
  },
];

describe('an audited change commits with its audit entry or not at all', () => {
  it.each(cases)('$action', async ({ action, scene }) => {
    const { wid, act } = await scene();
    const before = await stateOf(wid);
    expectServerFault(await refusing(action, act));
    expect(await stateOf(wid)).toEqual(before);

    const allowed = await act();
    expect(allowed.statusCode, allowed.body).toBeLessThan(300);
    expect(await stateOf(wid)).not.toEqual(before);
  });

  it('workspace.created', async () => {
    const owner = await signUp();
    const mine = () => app().app.db.membership.count({ where: { userId: owner.id } });
    const create = () =>
      send({ method: 'POST', url: '/v1/workspaces', token: owner.token, payload: { name: 'Atomic' } });
    expectServerFault(await refusing('workspace.created', create));
    expect(await mine()).toBe(0);
    expect(await app().app.db.workspace.count({ where: { name: 'Atomic' } })).toBe(0);

    expect((await create()).statusCode).toBe(201);
    expect(await mine()).toBe(1);
  });

  it('auth.account.deleted', async () => {
    const person = await signUp();
    const wid = await workspace([person]);
    const remove = () =>
      send({
        method: 'DELETE',
        url: '/v1/me',
        token: person.token,
        payload: { password: 'atomic changes passphrase 1' },
      });
    expectServerFault(await refusing('auth.account.deleted', remove));
    expect(await app().app.db.user.findUnique({ where: { id: person.id } })).not.toBeNull();
    expect(await app().app.db.workspace.findUnique({ where: { id: wid } })).not.toBeNull();

    expect((await remove()).statusCode).toBe(204);
    expect(await app().app.db.user.findUnique({ where: { id: person.id } })).toBeNull();
  });
});
