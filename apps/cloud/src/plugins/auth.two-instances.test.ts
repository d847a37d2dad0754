import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestUser, testActors } from '../../test/support/actors.js';
import { createTestApp } from '../../test/support/app.js';
import { validEnv } from '../../test/support/env.js';

type TestApp = Awaited<ReturnType<typeof createTestApp>>;

/**
 * The sign-in check of every request (token, live session and, on a
 * workspace route, the caller's role, read in one statement) against two
 * instances on one database, as behind a load balancer: what one instance
 * ends or changes, the other refuses on its very next request, even though it
 * has verified (and remembers) the same access token before.
 */
describe('authorised requests across two instances', () => {
  const { MULTICLAW_MASTER_KEYS, MULTICLAW_TOKEN_SIGNING_KEYS } = validEnv();
  const env = { MULTICLAW_MASTER_KEYS, MULTICLAW_TOKEN_SIGNING_KEYS, AUTH_RATE_LIMIT_MAX: '10000' };
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    a = await createTestApp({ env });
    b = await createTestApp({ env, databaseUrl: a.databaseUrl });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  const client = {
    address: '203.0.113.83',
    userAgent: 'auth-two-instances/1.0',
    password: 'two instances pass 9',
  };
  // Changes go through instance A; the requests under test go to instance B.
  const onA = testActors(() => a, client);
  const onB = testActors(() => b, client);

  const listAgents = (wid: string, user: TestUser) =>
    onB.send({ method: 'GET', url: `/v1/workspaces/${wid}/agents`, token: user.token });
  const createAgent = (wid: string, user: TestUser) =>
    onB.send({
      method: 'POST',
      url: `/v1/workspaces/${wid}/agents`,
      token: user.token,
      payload: { name: `agent-${randomUUID().slice(0, 8)}`, provider: 'anthropic', model: 'claude-sonnet-4' },
    });

  it('a session ended on one instance is refused by the other on its next request', async () => {
    const owner = await onA.signUp();
    const wid = await onA.workspace([owner]);
    expect((await listAgents(wid, owner)).statusCode).toBe(200);
    expect((await onB.send({ method: 'GET', url: '/v1/me', token: owner.token })).statusCode).toBe(200);

    const logout = await onA.send({ method: 'POST', url: '/v1/auth/logout', token: owner.token });
    expect(logout.statusCode, logout.body).toBe(204);

    expect((await listAgents(wid, owner)).statusCode).toBe(401);
    expect((await onB.send({ method: 'GET', url: '/v1/me', token: owner.token })).statusCode).toBe(401);
  });

  it('a member removed on one instance gets the 404 of a missing workspace from the other at once', async () => {
    const owner = await onA.signUp();
    const member = await onA.signUp();
    const wid = await onA.workspace([owner], [member]);
    expect((await listAgents(wid, member)).statusCode).toBe(200);

    const removed = await onA.send({
      method: 'DELETE',
      url: `/v1/workspaces/${wid}/members/${member.id}`,
      token: owner.token,
    });
    expect(removed.statusCode, removed.body).toBe(204);

    const after = await listAgents(wid, member);
    expect(after.statusCode).toBe(404);
    expect(after.json().error.code).toBe('NOT_FOUND');
    // The owner, on the same instance, is unaffected.
    expect((await listAgents(wid, owner)).statusCode).toBe(200);
  });

  it('a role lowered on one instance takes effect on the other at once, and raised again too', async () => {
    const owner = await onA.signUp();
    const second = await onA.signUp();
    const wid = await onA.workspace([owner, second]);
    expect((await createAgent(wid, second)).statusCode).toBe(201);

    const setRole = async (role: 'owner' | 'member') => {
      const changed = await onA.send({
        method: 'PATCH',
        url: `/v1/workspaces/${wid}/members/${second.id}`,
        token: owner.token,
        payload: { role },
      });
      expect(changed.statusCode, changed.body).toBe(204);
    };

    await setRole('member');
    const refused = await createAgent(wid, second);
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error.code).toBe('FORBIDDEN');
    expect((await listAgents(wid, second)).statusCode).toBe(200);

    await setRole('owner');
    expect((await createAgent(wid, second)).statusCode).toBe(201);
  });

  it("reads the role of the token's own user only: another member's session does not lend its role", async () => {
    const owner = await onA.signUp();
    const stranger = await onA.signUp();
    const wid = await onA.workspace([owner]);
    const theirs = await onA.workspace([stranger]);
    expect((await listAgents(wid, stranger)).statusCode).toBe(404);
    expect((await createAgent(wid, stranger)).statusCode).toBe(404);
    // The same caller, in its own workspace, then in the other again: each request reads its own :wid.
    expect((await listAgents(theirs, stranger)).statusCode).toBe(200);
    expect((await listAgents(wid, stranger)).statusCode).toBe(404);
  });
});
