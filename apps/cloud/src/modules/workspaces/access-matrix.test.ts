import { createSecretKey, randomBytes, randomUUID } from 'node:crypto';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp } from '../../../test/support/app.js';
import { createVaultCrypto } from '../vault/crypto.js';
import type { Action, Role } from './permissions.js';

/**
 * Every workspace route × every kind of caller × {own, foreign, missing}
 * resource, against the status the permission matrix implies. A route the
 * app registers but this table lacks fails the coverage test below.
 */

type Kind = 'workspace' | 'member' | 'invitation' | 'agent' | 'secret' | 'gateway' | 'conversation';
type Caller = 'anonymous' | 'owner' | 'member' | 'ownerOfOther' | 'memberOfOther' | 'outsider';
type Variant = 'own' | 'foreign' | 'missing';
type Fixture = {
  wid: string;
  otherWid: string;
  resources: Record<Exclude<Kind, 'workspace'>, { own: string; foreign: string }>;
};
type RouteCase = {
  method: InjectOptions['method'] & string;
  url: string;
  kind: Kind;
  /** The action the route declares; a function where it depends on the target. */
  action: Action | ((caller: Caller, variant: Variant) => Action);
  success: number;
  body?: () => Record<string, unknown>;
  /** Someone else's resource the role may not touch is not found (404), not forbidden. */
  othersHidden?: boolean;
};

const ROUTES: RouteCase[] = [
  { method: 'GET', url: '/v1/workspaces/:wid', kind: 'workspace', action: 'workspace.read', success: 200 },
  {
    method: 'PATCH',
    url: '/v1/workspaces/:wid',
    kind: 'workspace',
    action: 'workspace.update',
    success: 200,
    body: () => ({ name: 'Renamed' }),
  },
  {
    method: 'DELETE',
    url: '/v1/workspaces/:wid',
    kind: 'workspace',
    action: 'workspace.delete',
    success: 204,
  },
  {
    method: 'GET',
    url: '/v1/workspaces/:wid/members',
    kind: 'workspace',
    action: 'members.list',
    success: 200,
  },
  {
    method: 'PATCH',
    url: '/v1/workspaces/:wid/members/:uid',
    kind: 'member',
    action: 'members.update',
    success: 204,
    body: () => ({ role: 'member' }),
  },
  {
    method: 'DELETE',
    url: '/v1/workspaces/:wid/members/:uid',
    kind: 'member',
    // The own target is the member "member": for that caller, removing it is leaving.
    action: (caller, variant) =>
      caller === 'member' && variant === 'own' ? 'members.leave' : 'members.remove',
    success: 204,
  },
  {
    method: 'POST',
    url: '/v1/workspaces/:wid/invitations',
    kind: 'workspace',
    action: 'invitations.create',
    success: 201,
    body: () => ({ email: `invitee-${randomBytes(4).toString('hex')}@example.com`, role: 'member' }),
  },
  {
    method: 'GET',
    url: '/v1/workspaces/:wid/invitations',
    kind: 'workspace',
    action: 'invitations.list',
    success: 200,
  },
  {
    method: 'DELETE',
    url: '/v1/workspaces/:wid/invitations/:iid',
    kind: 'invitation',
    action: 'invitations.revoke',
    success: 204,
  },
  {
    method: 'GET',
    url: '/v1/workspaces/:wid/agents',
    kind: 'workspace',
    action: 'agents.list',
    success: 200,
  },
  {
    method: 'POST',
    url: '/v1/workspaces/:wid/agents',
    kind: 'workspace',
    action: 'agents.create',
    success: 201,
    body: () => ({ name: `agent-${randomBytes(4).toString('hex')}`, provider: 'openai', model: 'gpt-4o' }),
  },
  {
    method: 'GET',
    url: '/v1/workspaces/:wid/agents/:aid',
    kind: 'agent',
    action: 'agents.read',
    success: 200,
  },
  {
    method: 'PATCH',
    url: '/v1/workspaces/:wid/agents/:aid',
    kind: 'agent',
    action: 'agents.update',
    success: 200,
    body: () => ({ description: 'changed' }),
  },
  {
    method: 'DELETE',
    url: '/v1/workspaces/:wid/agents/:aid',
    kind: 'agent',
    action: 'agents.delete',
    success: 204,
  },
  { method: 'GET', url: '/v1/workspaces/:wid/audit', kind: 'workspace', action: 'audit.read', success: 200 },
  {
    method: 'GET',
    url: '/v1/workspaces/:wid/secrets',
    kind: 'workspace',
    action: 'secrets.list',
    success: 200,
  },
  {
    method: 'POST',
    url: '/v1/workspaces/:wid/secrets',
    kind: 'workspace',
    action: 'secrets.create',
    success: 201,
    body: () => ({ name: `KEY_${randomBytes(4).toString('hex')}`, value: 'matrix value' }),
  },
  {
    method: 'GET',
    url: '/v1/workspaces/:wid/secrets/:sid',
    kind: 'secret',
    action: 'secrets.list',
    success: 200,
  },
  {
    method: 'PUT',
    url: '/v1/workspaces/:wid/secrets/:sid',
    kind: 'secret',
    action: 'secrets.update',
    success: 200,
    body: () => ({ value: 'new matrix value', description: 'changed' }),
  },
  {
    method: 'DELETE',
    url: '/v1/workspaces/:wid/secrets/:sid',
    kind: 'secret',
    action: 'secrets.delete',
    success: 204,
  },
  {
    method: 'POST',
    url: '/v1/workspaces/:wid/secrets/:sid/reveal',
    kind: 'secret',
    action: 'secrets.reveal',
    success: 200,
  },
  {
    method: 'POST',
    url: '/v1/workspaces/:wid/gateway-enrollments',
    kind: 'workspace',
    action: 'gateways.enroll',
    success: 201,
    body: () => ({ name: 'matrix gateway' }),
  },
  {
    method: 'GET',
    url: '/v1/workspaces/:wid/gateways',
    kind: 'workspace',
    action: 'gateways.list_own',
    success: 200,
  },
  {
    method: 'DELETE',
    url: '/v1/workspaces/:wid/gateways/:gid',
    kind: 'gateway',
    // The own target is the owner's gateway: for the member, revoking it is revoking another's.
    // A foreign or missing gateway is not found before whose it is matters.
    action: (caller, variant) =>
      caller === 'member' && variant === 'own' ? 'gateways.revoke_any' : 'gateways.revoke_own',
    success: 204,
  },
  {
    method: 'GET',
    url: '/v1/workspaces/:wid/conversations',
    kind: 'workspace',
    action: 'transcripts.read_own',
    success: 200,
  },
  {
    method: 'GET',
    url: '/v1/workspaces/:wid/conversations/:cid/messages',
    kind: 'conversation',
    // The own target is the owner's conversation: for the member, another person's.
    action: (caller, variant) =>
      caller === 'member' && variant === 'own' ? 'transcripts.read_any' : 'transcripts.read_own',
    success: 200,
    othersHidden: true,
  },
  {
    method: 'DELETE',
    url: '/v1/workspaces/:wid/conversations/:cid',
    kind: 'conversation',
    action: (caller, variant) =>
      caller === 'member' && variant === 'own' ? 'transcripts.delete_any' : 'transcripts.delete_own',
    success: 204,
    othersHidden: true,
  },
];

const CALLERS: Caller[] = ['anonymous', 'owner', 'member', 'ownerOfOther', 'memberOfOther', 'outsider'];
const VARIANTS: Variant[] = ['own', 'foreign', 'missing'];
const PASSWORD = 'access matrix passphrase 9';

let ctx: Awaited<ReturnType<typeof createTestApp>>;
/** The app's master key, so fixture secrets are sealed exactly as the vault routes seal them. */
const MASTER_KEY = randomBytes(32);
const vaultCrypto = createVaultCrypto({
  masterKeys: [{ version: 1, key: createSecretKey(MASTER_KEY) }],
  now: () => new Date(),
});
const users = {} as Record<Exclude<Caller, 'anonymous'>, { id: string; token: string }>;

beforeAll(async () => {
  ctx = await createTestApp({
    env: {
      AUTH_RATE_LIMIT_MAX: '100000',
      LOG_LEVEL: 'warn',
      MULTICLAW_MASTER_KEYS: `1:${MASTER_KEY.toString('base64')}`,
    },
  });
  for (const caller of CALLERS) {
    if (caller === 'anonymous') continue;
    const email = `${caller.toLowerCase()}-${randomBytes(4).toString('hex')}@example.com`;
    const registered = await ctx.app.inject({
      method: 'POST',
      url: '/v1/auth/register',
      payload: { email, password: PASSWORD },
    });
    const login = await ctx.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email, password: PASSWORD },
    });
    users[caller] = { id: registered.json().user.id, token: login.json().accessToken };
  }
});
afterAll(async () => {
  await ctx?.close();
});

/** Two fresh workspaces, A (the target) and B (the other), each with one resource of every kind. */
async function fixture(): Promise<Fixture> {
  const db = ctx.app.db;
  const make = async (owner: string, member: string) => {
    const ws = await db.workspace.create({
      data: {
        name: 'matrix',
        memberships: {
          create: [
            { userId: owner, role: 'owner' },
            { userId: member, role: 'member' },
          ],
        },
      },
    });
    const invitation = await db.invitation.create({
      data: {
        workspaceId: ws.id,
        email: `pending-${randomBytes(4).toString('hex')}@example.com`,
        role: 'member',
        tokenHash: new Uint8Array(randomBytes(32)),
        expiresAt: new Date(Date.now() + 3_600_000),
      },
    });
    const agent = await db.agent.create({
      data: { workspaceId: ws.id, name: 'agent', provider: 'openai', model: 'gpt-4o' },
    });
    // A real sealed value (the app's master keys): the reveal and update routes decrypt and re-seal it.
    const secretId = randomUUID();
    const sealed = await vaultCrypto.seal(db, { workspaceId: ws.id, secretId }, 'matrix secret');
    const secret = await db.secret.create({
      data: { id: secretId, workspaceId: ws.id, name: 'MATRIX_SECRET', ...sealed },
    });
    const gateway = await db.gateway.create({
      data: {
        workspaceId: ws.id,
        ownerUserId: owner,
        name: 'matrix',
        publicKey: new Uint8Array(randomBytes(32)),
      },
    });
    // A synced conversation of the owner's, with one message sealed as the sync seals it.
    const conversation = await db.conversation.create({
      data: {
        workspaceId: ws.id,
        gatewayId: gateway.id,
        ownerUserId: owner,
        externalId: randomUUID(),
        agentId: agent.id,
        agentSource: 'workspace',
        lastSeq: 1,
      },
    });
    const messageId = randomUUID();
    const sealer = await vaultCrypto.messageSealer(db, ws.id, 1);
    const content = sealer.seal({ workspaceId: ws.id, conversationId: conversation.id, messageId }, 'hello');
    sealer.release();
    await db.message.create({
      data: {
        id: messageId,
        conversationId: conversation.id,
        seq: 1,
        role: 'user',
        createdAt: new Date(),
        ...content,
      },
    });
    return {
      wid: ws.id,
      member,
      invitation: invitation.id,
      agent: agent.id,
      secret: secret.id,
      gateway: gateway.id,
      conversation: conversation.id,
    };
  };
  const a = await make(users.owner.id, users.member.id);
  const b = await make(users.ownerOfOther.id, users.memberOfOther.id);
  return {
    wid: a.wid,
    otherWid: b.wid,
    resources: {
      member: { own: a.member, foreign: b.member },
      invitation: { own: a.invitation, foreign: b.invitation },
      agent: { own: a.agent, foreign: b.agent },
      secret: { own: a.secret, foreign: b.secret },
      gateway: { own: a.gateway, foreign: b.gateway },
      conversation: { own: a.conversation, foreign: b.conversation },
    },
  };
}

function roleIn(caller: Caller, target: 'A' | 'B' | 'none'): Role | undefined {
  if (target === 'A') return caller === 'owner' ? 'owner' : caller === 'member' ? 'member' : undefined;
  if (target === 'B')
    return caller === 'ownerOfOther' ? 'owner' : caller === 'memberOfOther' ? 'member' : undefined;
  return undefined;
}

/**
 * DESIGN.md §4's matrix, written out here by hand rather than read from
 * permissions.ts: a wrong entry in the production table must fail this test.
 * Owners may do everything; members only these.
 */
const MEMBERS_MAY: ReadonlySet<Action> = new Set<Action>([
  'workspace.read',
  'members.leave',
  'agents.list',
  'agents.read',
  'secrets.list',
  'gateways.enroll',
  'gateways.list_own',
  'gateways.revoke_own',
  'transcripts.read_own',
  'transcripts.delete_own',
]);
const expectedToAllow = (role: Role, action: Action) => role === 'owner' || MEMBERS_MAY.has(action);

function expectedStatus(route: RouteCase, caller: Caller, variant: Variant): number {
  if (caller === 'anonymous') return 401;
  const target =
    route.kind === 'workspace' ? ({ own: 'A', foreign: 'B', missing: 'none' } as const)[variant] : 'A';
  const role = roleIn(caller, target);
  if (!role) return 404;
  const action = typeof route.action === 'function' ? route.action(caller, variant) : route.action;
  if (!expectedToAllow(role, action)) return route.othersHidden ? 404 : 403;
  if (route.kind !== 'workspace' && variant !== 'own') return 404;
  return route.success;
}

function urlFor(route: RouteCase, f: Fixture, variant: Variant): string {
  const wid =
    route.kind === 'workspace' ? { own: f.wid, foreign: f.otherWid, missing: randomUUID() }[variant] : f.wid;
  const resource =
    route.kind === 'workspace'
      ? ''
      : { own: f.resources[route.kind].own, foreign: f.resources[route.kind].foreign, missing: randomUUID() }[
          variant
        ];
  return route.url.replace(':wid', wid).replace(/:(uid|iid|aid|sid|gid|cid)/, resource);
}

describe('access matrix', () => {
  it('covers every workspace route the app registers', () => {
    const covered = ROUTES.map((r) => `${r.method} ${r.url}`).sort();
    expect(covered).toEqual([...new Set(ctx.app.workspaceRouteTable)].sort());
  });

  for (const route of ROUTES) {
    it(`${route.method} ${route.url}`, async () => {
      const outcomes: string[] = [];
      const expected: string[] = [];
      for (const caller of CALLERS) {
        for (const variant of VARIANTS) {
          const f = await fixture();
          const response = await ctx.app.inject({
            method: route.method,
            url: urlFor(route, f, variant),
            headers: caller === 'anonymous' ? {} : { authorization: `Bearer ${users[caller].token}` },
            ...(route.body ? { payload: route.body() } : {}),
          });
          outcomes.push(`${caller}/${variant}: ${response.statusCode}`);
          expected.push(`${caller}/${variant}: ${expectedStatus(route, caller, variant)}`);
        }
      }
      expect(outcomes).toEqual(expected);
    });
  }
});
