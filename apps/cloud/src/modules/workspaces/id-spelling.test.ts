import { randomBytes } from 'node:crypto';
import { ErrorEnvelope } from '@multiclaw/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestUser, testActors } from '../../../test/support/actors.js';
import { createTestApp } from '../../../test/support/app.js';
import { verifyAuditChain } from '../audit/verify.js';
import { createAccessTokens } from '../identity/tokens/access-tokens.js';

/**
 * A UUID has one spelling. The vault's AAD, the audit chain's hash and its
 * advisory lock are all keyed by an id's text, so before ids were
 * canonicalised at the schema boundary an upper-case workspace id in a path
 * broke the vault for good (every reveal failed), wrote audit entries that
 * `audit:verify` reported as tampering, and made parallel writes collide.
 */

const PASSWORD = 'correct horse battery staple 7';
let ctx: Awaited<ReturnType<typeof createTestApp>>;
let owner: TestUser;
let member: TestUser;

const { send, signUp } = testActors(() => ctx, {
  address: '203.0.113.9',
  userAgent: 'id-spelling-test/1.0',
  password: PASSWORD,
});

beforeAll(async () => {
  ctx = await createTestApp({ env: { AUTH_RATE_LIMIT_MAX: '10000' } });
  [owner, member] = await Promise.all([signUp(), signUp()]);
});
afterAll(async () => {
  await ctx?.close();
});

const upper = (id: string) => id.toUpperCase();
const unique = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;

async function createWorkspace(): Promise<string> {
  const created = await send({
    method: 'POST',
    url: '/v1/workspaces',
    token: owner.token,
    payload: { name: unique('ws') },
  });
  expect(created.statusCode, created.body).toBe(201);
  return created.json<{ id: string }>().id;
}

async function addMember(wid: string): Promise<void> {
  await ctx.app.db.membership.create({ data: { workspaceId: wid, userId: member.id, role: 'member' } });
}

describe('ids in any case reach the database in one spelling', () => {
  it('an upper-case workspace id creates the first secret; the vault still reveals and the audit chain verifies', async () => {
    const wid = await createWorkspace();
    await addMember(wid);
    const value = `value-${randomBytes(8).toString('hex')}`;

    const created = await send({
      method: 'POST',
      url: `/v1/workspaces/${upper(wid)}/secrets`,
      token: owner.token,
      payload: { name: unique('secret'), value },
    });
    expect(created.statusCode, created.body).toBe(201);
    const secretId = created.json<{ id: string }>().id;

    for (const url of [`/v1/workspaces/${wid}`, `/v1/workspaces/${upper(wid)}`]) {
      const revealed = await send({
        method: 'POST',
        url: `${url}/secrets/${upper(secretId)}/reveal`,
        token: owner.token,
      });
      expect(revealed.statusCode, revealed.body).toBe(200);
      expect(revealed.json()).toEqual({ value });
    }
    // A member's first touch of the workspace through the other spelling is audited canonically.
    const read = await send({ method: 'GET', url: `/v1/workspaces/${upper(wid)}`, token: member.token });
    expect(read.statusCode, read.body).toBe(200);
    expect(read.json<{ id: string }>().id).toBe(wid);

    const spellings = await ctx.app.db.$queryRaw<Array<{ id: string }>>`
      SELECT DISTINCT workspace_id::text AS id FROM audit_events WHERE lower(workspace_id::text) = ${wid}`;
    expect(spellings).toEqual([{ id: wid }]);
    expect(await verifyAuditChain(ctx.app.db, wid)).toMatchObject({ ok: true });
  });

  it('every workspace route answers an upper-case id like the lower-case one, never a 5xx', async () => {
    const wid = await createWorkspace();
    await addMember(wid);
    const secret = await send({
      method: 'POST',
      url: `/v1/workspaces/${upper(wid)}/secrets`,
      token: owner.token,
      payload: { name: unique('secret'), value: 'v' },
    });
    const agent = await send({
      method: 'POST',
      url: `/v1/workspaces/${upper(wid)}/agents`,
      token: owner.token,
      payload: { name: unique('agent'), provider: 'anthropic', model: 'claude-sonnet-4' },
    });
    const invitation = await send({
      method: 'POST',
      url: `/v1/workspaces/${upper(wid)}/invitations`,
      token: owner.token,
      payload: { email: `${unique('invitee')}@example.com`, role: 'member' },
    });
    for (const response of [secret, agent, invitation]) expect(response.statusCode, response.body).toBe(201);
    const ids: Record<string, string> = {
      wid,
      sid: secret.json<{ id: string }>().id,
      aid: agent.json<{ id: string }>().id,
      iid: invitation.json<{ id: string }>().id,
      uid: member.id,
    };
    const fill = (url: string, spell: (id: string) => string) =>
      url.replace(/:(\w+)/g, (_, name: string) => spell(ids[name] ?? name));

    // Reads, as owner and member: the same status and body for both spellings.
    const reads = ctx.app.workspaceRouteTable.filter((route) => route.startsWith('GET '));
    expect(reads.length).toBeGreaterThan(5);
    for (const route of reads) {
      const url = route.slice('GET '.length);
      for (const user of [owner, member]) {
        const lower = await send({ method: 'GET', url: fill(url, (id) => id), token: user.token });
        const upperCase = await send({ method: 'GET', url: fill(url, upper), token: user.token });
        expect(upperCase.statusCode, `${route}: ${upperCase.body}`).toBe(lower.statusCode);
        expect(upperCase.statusCode).toBeLessThan(500);
        if (lower.statusCode === 200 && !url.endsWith('/audit'))
          expect(upperCase.json()).toEqual(lower.json());
      }
    }
    // Writes through the upper-case spelling.
    const writes = [
      { method: 'PATCH' as const, url: '/v1/workspaces/:wid', payload: { name: unique('renamed') } },
      {
        method: 'PUT' as const,
        url: '/v1/workspaces/:wid/secrets/:sid',
        payload: { value: 'v2', agentIds: [ids.aid?.toUpperCase()] },
      },
      {
        method: 'PATCH' as const,
        url: '/v1/workspaces/:wid/agents/:aid',
        payload: { model: 'claude-opus-4' },
      },
      { method: 'PATCH' as const, url: '/v1/workspaces/:wid/members/:uid', payload: { role: 'member' } },
      { method: 'DELETE' as const, url: '/v1/workspaces/:wid/invitations/:iid' },
    ];
    for (const write of writes) {
      const response = await send({ ...write, url: fill(write.url, upper), token: owner.token });
      expect(response.statusCode, `${write.method} ${write.url}: ${response.body}`).toBeLessThan(300);
    }
    const grants = await ctx.app.db.secretGrant.findMany({ where: { secretId: ids.sid ?? '' } });
    expect(grants.map((grant) => grant.agentId)).toEqual([ids.aid]);
    const revealed = await send({
      method: 'POST',
      url: `/v1/workspaces/${wid}/secrets/${ids.sid}/reveal`,
      token: owner.token,
    });
    expect(revealed.json()).toEqual({ value: 'v2' });
    expect(await verifyAuditChain(ctx.app.db, wid)).toMatchObject({ ok: true });
  });

  it('parallel writes in mixed spellings all succeed and leave one complete chain', async () => {
    const wid = await createWorkspace();
    const writes = Array.from({ length: 24 }, (_, i) =>
      send({
        method: 'POST',
        url: `/v1/workspaces/${i % 2 ? upper(wid) : wid}/agents`,
        token: owner.token,
        payload: { name: unique(`agent${i}`), provider: 'anthropic', model: 'claude-sonnet-4' },
      }),
    );
    const statuses = (await Promise.all(writes)).map((response) => response.statusCode);
    expect(statuses).toEqual(Array.from({ length: 24 }, () => 201));
    const created = await ctx.app.db.auditEvent.count({
      where: { workspaceId: wid, action: 'agent.created' },
    });
    expect(created).toBe(24);
    const verified = await verifyAuditChain(ctx.app.db, wid);
    expect(verified).toMatchObject({ ok: true });
  });

  it('a signed access token whose session id is not a UUID is a 401, not a 500', async () => {
    const tokens = createAccessTokens({
      keyring: ctx.config.signingKeys,
      issuer: ctx.config.publicUrl,
      ttlSeconds: 600,
      now: () => new Date(),
    });
    const token = await tokens.sign({ userId: owner.id, sessionId: 'not-a-uuid' });
    const response = await send({ method: 'GET', url: '/v1/me', token });
    expect(response.statusCode).toBe(401);
    expect(ErrorEnvelope.parse(response.json()).error.code).toBe('UNAUTHENTICATED');
  });
});
