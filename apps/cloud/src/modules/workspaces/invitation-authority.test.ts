import { ErrorEnvelope } from '@multiclaw/protocol';
import type { LightMyRequestResponse } from 'fastify';
import { describe, expect, it } from 'vitest';
import { type TestUser, testActors } from '../../../test/support/actors.js';
import { useTestApp } from '../../../test/support/app.js';

/**
 * An invitation speaks with its inviter's authority: once the inviter may no
 * longer invite (demoted, gone, account deleted), their pending invitations
 * no longer let anyone in, least of all as an owner.
 */

const PASSWORD = 'invitation authority passphrase 1';
const app = useTestApp({ env: { AUTH_RATE_LIMIT_MAX: '100000' } });
const { send, signUp, workspace } = testActors(app, {
  address: '203.0.113.10',
  userAgent: 'invitation-authority-test',
  password: PASSWORD,
});

const codeOf = (response: LightMyRequestResponse) => ErrorEnvelope.parse(response.json()).error.code;
const roleOf = async (wid: string, userId: string) =>
  (
    await app().app.db.membership.findUnique({
      where: { workspaceId_userId: { workspaceId: wid, userId } },
      select: { role: true },
    })
  )?.role;

async function invite(wid: string, inviter: TestUser, invitee: TestUser, role: 'owner' | 'member') {
  const { email } = await app().app.db.user.findUniqueOrThrow({ where: { id: invitee.id } });
  const created = await send({
    method: 'POST',
    url: `/v1/workspaces/${wid}/invitations`,
    token: inviter.token,
    payload: { email, role },
  });
  expect(created.statusCode, created.body).toBe(201);
  return (created.json() as { token: string }).token;
}

const accept = (invitee: TestUser, token: string) =>
  send({ method: 'POST', url: '/v1/invitations/accept', token: invitee.token, payload: { token } });

const demote = (actor: TestUser, wid: string, target: TestUser) =>
  send({
    method: 'PATCH',
    url: `/v1/workspaces/${wid}/members/${target.id}`,
    token: actor.token,
    payload: { role: 'member' },
  });

/** Owners A (the inviter) and B, and X invited as `role` by A. */
async function scene(role: 'owner' | 'member' = 'owner') {
  const [a, b, x] = await Promise.all([signUp(), signUp(), signUp()]);
  const wid = await workspace([a, b]);
  return { a, b, x, wid, token: await invite(wid, a, x, role) };
}

function expectRefused(response: LightMyRequestResponse) {
  expect(response.statusCode, response.body).toBe(404);
  expect(codeOf(response)).toBe('INVITATION_INVALID');
}

describe('an invitation holds only while its inviter may invite', () => {
  it('is honoured while the inviter is still an owner', async () => {
    const { x, wid, token } = await scene();
    expect((await accept(x, token)).statusCode).toBe(200);
    expect(await roleOf(wid, x.id)).toBe('owner');
  });

  it('an owner invitation dies when its inviter is demoted', async () => {
    const { a, b, x, wid, token } = await scene();
    expect((await demote(b, wid, a)).statusCode).toBe(204);
    expectRefused(await accept(x, token));
    expect(await roleOf(wid, x.id)).toBeUndefined();
  });

  it('a member invitation dies when its inviter leaves', async () => {
    const { a, x, wid, token } = await scene('member');
    const left = await send({
      method: 'DELETE',
      url: `/v1/workspaces/${wid}/members/${a.id}`,
      token: a.token,
    });
    expect(left.statusCode).toBe(204);
    expectRefused(await accept(x, token));
    expect(await roleOf(wid, x.id)).toBeUndefined();
  });

  it('an invitation dies with its inviter account', async () => {
    const { a, x, wid, token } = await scene();
    const gone = await send({
      method: 'DELETE',
      url: '/v1/me',
      token: a.token,
      payload: { password: PASSWORD },
    });
    expect(gone.statusCode, gone.body).toBe(204);
    expectRefused(await accept(x, token));
    expect(await roleOf(wid, x.id)).toBeUndefined();
  });

  it('a demotion racing the acceptance: either the acceptance came first, or it is refused', async () => {
    for (let round = 0; round < 20; round += 1) {
      const { a, b, x, wid, token } = await scene();
      const [accepted, demoted] = await Promise.all([accept(x, token), demote(b, wid, a)]);
      expect(demoted.statusCode).toBe(204);
      if (accepted.statusCode !== 200) {
        expectRefused(accepted);
        continue;
      }
      // Both committed: the audit chain's order is the commit order under the workspace lock.
      const entries = await app().app.db.auditEvent.findMany({
        where: { workspaceId: wid, action: { in: ['invitation.accepted', 'member.role_changed'] } },
        orderBy: { seq: 'asc' },
        select: { action: true },
      });
      expect(entries.map((e) => e.action)).toEqual(['invitation.accepted', 'member.role_changed']);
    }
  }, 120_000);
});
