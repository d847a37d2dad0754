import { createHmac, generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { Gateway, LINK_PROTOCOL_VERSIONS, linkAudience, Page } from '@multiclaw/protocol';
import { manualClock } from '@multiclaw/test-support/clock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestUser, testActors } from '../../../test/support/actors.js';
import { createTestApp } from '../../../test/support/app.js';
import { validEnv } from '../../../test/support/env.js';
import {
  connectLink,
  enrollTestGateway,
  eventually,
  listenForLinks,
  opened,
  refused,
  signTestAssertion,
  type TestGateway,
} from '../../../test/support/link-gateway.js';
import { createLinkAssertions } from './assertion.js';

const clock = manualClock('2026-12-01T09:00:00Z');
const seconds = () => Math.floor(clock.nowMs() / 1000);
// Both instances of the two-instance test share the keys, as a real deployment does.
const { MULTICLAW_MASTER_KEYS, MULTICLAW_TOKEN_SIGNING_KEYS } = validEnv();
const env = { MULTICLAW_MASTER_KEYS, MULTICLAW_TOKEN_SIGNING_KEYS, AUTH_RATE_LIMIT_MAX: '10000' };

let ctx: Awaited<ReturnType<typeof createTestApp>>;
let url: string;
let audience: string;

beforeAll(async () => {
  ctx = await createTestApp({ now: clock.now, env });
  url = await listenForLinks(ctx.app);
  audience = linkAudience(ctx.config.publicUrl);
});
afterAll(async () => {
  await ctx?.close();
});

const { send, signUp, workspace } = testActors(() => ctx, {
  address: '203.0.113.71',
  userAgent: 'gateway-link-test/1.0',
  password: 'gateway link passphrase 11',
});

async function team() {
  const [owner, member] = await Promise.all([signUp(), signUp()]);
  const wid = await workspace([owner], [member]);
  return { owner, member, wid };
}

const assertion = (gateway: TestGateway, options: Partial<Parameters<typeof signTestAssertion>[1]> = {}) =>
  signTestAssertion(gateway, { audience, now: clock.now(), ...options });

const listed = async (wid: string, user: TestUser) => {
  const response = await send({ method: 'GET', url: `/v1/workspaces/${wid}/gateways`, token: user.token });
  expect(response.statusCode, response.body).toBe(200);
  return Page(Gateway).parse(response.json()).items;
};

describe('GET /v1/gateway-link: the happy path', () => {
  it('a member’s enrolled gateway connects: link.ready, then config.agents, and it is listed online until it closes', async () => {
    const { owner, member, wid } = await team();
    const gateway = await enrollTestGateway(send, wid, member);
    const iat = seconds();
    const client = await opened(connectLink(url, { assertion: await assertion(gateway, { iat }) }));

    const ready = await client.next('link.ready');
    expect(ready.payload).toEqual({
      version: Math.max(...LINK_PROTOCOL_VERSIONS),
      gatewayId: gateway.gatewayId,
      workspaceId: wid,
      authExpiresAt: new Date((iat + 60) * 1000).toISOString(),
      heartbeatMs: 10_000,
    });
    expect(client.frames[0]?.type).toBe('link.ready');
    const agents = await client.next('config.agents');
    expect(agents.payload).toEqual({ version: 0, agents: [] });

    for (const viewer of [member, owner]) {
      const [row] = await listed(wid, viewer);
      expect(row).toMatchObject({
        id: gateway.gatewayId,
        online: true,
        lastSeenAt: clock.now().toISOString(),
      });
    }

    client.close();
    expect((await client.closed).code).toBe(1005);
    await eventually(
      () => listed(wid, member),
      ([row]) => row?.online === false,
      'offline after close',
    );
  });
});

describe('the upgrade is refused before any socket exists', () => {
  it('without an Authorization header, or with a token that is not a bearer assertion', async () => {
    for (const result of [connectLink(url, {}), connectLink(url, { assertion: 'not a jwt' })]) {
      const refusal = await refused(result);
      expect(refusal.status).toBe(401);
      expect(refusal.envelope.error.code).toBe('LINK_AUTH_INVALID');
    }
  });

  it('an unknown gateway and a known one with another key get the same answer', async () => {
    const { member, wid } = await team();
    const gateway = await enrollTestGateway(send, wid, member);
    const other = generateKeyPairSync('ed25519').privateKey;
    const unknownId = randomUUID();
    const unknown = await refused(
      connectLink(url, { assertion: await assertion(gateway, { iss: unknownId, sub: unknownId }) }),
    );
    const wrongKey = await refused(connectLink(url, { assertion: await assertion(gateway, { key: other }) }));
    for (const refusal of [unknown, wrongKey]) {
      expect(refusal.status).toBe(401);
      expect(refusal.envelope.error.code).toBe('LINK_AUTH_INVALID');
    }
    expect(wrongKey.envelope.error.message).toBe(unknown.envelope.error.message);
    // …and the right key still works: the refusals used nothing up.
    await opened(connectLink(url, { assertion: await assertion(gateway) })).then((client) => client.close());
  });

  it.each([
    ['expired', () => ({ iat: seconds() - 70, exp: seconds() - 10 }), /expired/],
    ['living longer than 60 s', () => ({ iat: seconds(), exp: seconds() + 61 }), /within 60 seconds/],
    ['issued in the future', () => ({ iat: seconds() + 30, exp: seconds() + 60 }), /future/],
    [
      'issued over 60 s ago',
      () => ({ iat: seconds() - 66, exp: seconds() + 30 }),
      /60 seconds ago|within 60/,
    ],
    [
      'for the https URL instead of the link URL',
      () => ({ audience: `${ctx.config.publicUrl}/v1/gateway-link` }),
      /audience must be exactly ws:\/\//,
    ],
    ['for another cloud', () => ({ audience: 'wss://cloud.example.org/v1/gateway-link' }), /audience/],
    ['without a jti', () => ({ jti: null }), /"jti"/],
    ['with a guessable jti', () => ({ jti: 'abc' }), /jti must be/],
    ['with another typ', () => ({ typ: 'JWT' }), /typ header/],
    ['without a typ', () => ({ typ: null }), /typ header/],
    ['whose sub is not its iss', () => ({ sub: randomUUID() }), /sub/],
  ])('an assertion %s', async (_what, bend, message) => {
    const { member, wid } = await team();
    const gateway = await enrollTestGateway(send, wid, member);
    const refusal = await refused(connectLink(url, { assertion: await assertion(gateway, bend()) }));
    expect(refusal.status).toBe(401);
    expect(refusal.envelope.error.code).toBe('LINK_AUTH_INVALID');
    expect(refusal.envelope.error.message).toMatch(message);
  });

  it('alg none and HS256 (keyed with the public key) are refused before any key is looked at', async () => {
    const { member, wid } = await team();
    const gateway = await enrollTestGateway(send, wid, member);
    const claims = {
      iss: gateway.gatewayId,
      sub: gateway.gatewayId,
      aud: audience,
      iat: seconds(),
      exp: seconds() + 60,
      jti: randomUUID(),
    };
    const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const body = part(claims);
    const none = `${part({ alg: 'none', typ: 'multiclaw-link+jwt' })}.${body}.`;
    const row = await ctx.app.db.gateway.findUniqueOrThrow({ where: { id: gateway.gatewayId } });
    const hsInput = `${part({ alg: 'HS256', typ: 'multiclaw-link+jwt' })}.${body}`;
    const hs256 = `${hsInput}.${createHmac('sha256', row.publicKey).update(hsInput).digest('base64url')}`;
    for (const token of [none, hs256]) {
      const refusal = await refused(connectLink(url, { assertion: token }));
      expect(refusal.status).toBe(401);
      expect(refusal.envelope.error.code).toBe('LINK_AUTH_INVALID');
    }
  });

  it('a replayed jti is refused, while the first connection is open and after it closed', async () => {
    const { member, wid } = await team();
    const gateway = await enrollTestGateway(send, wid, member);
    const once = await assertion(gateway);
    const client = await opened(connectLink(url, { assertion: once }));
    await client.next('link.ready');
    const whileOpen = await refused(connectLink(url, { assertion: once }));
    client.close();
    await client.closed;
    const afterClose = await refused(connectLink(url, { assertion: once }));
    for (const refusal of [whileOpen, afterClose]) {
      expect(refusal.status).toBe(401);
      expect(refusal.envelope.error.message).toMatch(/jti was already used/);
    }
  });

  it('a jti used at one instance is refused at another on the same database', async () => {
    const second = await createTestApp({ now: clock.now, env, databaseUrl: ctx.databaseUrl });
    try {
      const secondUrl = await listenForLinks(second.app);
      const { member, wid } = await team();
      const gateway = await enrollTestGateway(send, wid, member);
      const once = await assertion(gateway);
      const client = await opened(connectLink(url, { assertion: once }));
      await client.next('link.ready');
      const refusal = await refused(connectLink(secondUrl, { assertion: once }));
      expect(refusal.status).toBe(401);
      expect(refusal.envelope.error.message).toMatch(/jti was already used/);
      // A fresh one is fine there (and replaces nothing here: instances hold their own sockets).
      const there = await opened(connectLink(secondUrl, { assertion: await assertion(gateway) }));
      await there.next('link.ready');
      there.close();
      client.close();
      await Promise.all([there.closed, client.closed]);
    } finally {
      await second.app.close();
    }
  });

  it('a revoked gateway is refused (403 LINK_GATEWAY_REVOKED), even with a valid assertion', async () => {
    const { member, wid } = await team();
    const gateway = await enrollTestGateway(send, wid, member);
    const revoke = await send({
      method: 'DELETE',
      url: `/v1/workspaces/${wid}/gateways/${gateway.gatewayId}`,
      token: member.token,
    });
    expect(revoke.statusCode).toBe(204);
    const refusal = await refused(connectLink(url, { assertion: await assertion(gateway) }));
    expect(refusal.status).toBe(403);
    expect(refusal.envelope.error.code).toBe('LINK_GATEWAY_REVOKED');
  });

  it('a gateway whose person left the workspace is refused (403)', async () => {
    const { owner, member, wid } = await team();
    const gateway = await enrollTestGateway(send, wid, member);
    const removal = await send({
      method: 'DELETE',
      url: `/v1/workspaces/${wid}/members/${member.id}`,
      token: owner.token,
    });
    expect(removal.statusCode, removal.body).toBe(204);
    const refusal = await refused(connectLink(url, { assertion: await assertion(gateway) }));
    expect(refusal.status).toBe(403);
    expect(refusal.envelope.error.code).toBe('LINK_GATEWAY_REVOKED');
  });

  it('versions in common are required: 426 naming both lists, for another list and for none', async () => {
    const { member, wid } = await team();
    const gateway = await enrollTestGateway(send, wid, member);
    const other = await refused(connectLink(url, { assertion: await assertion(gateway), versions: '7, 9' }));
    expect(other.status).toBe(426);
    expect(other.envelope.error).toMatchObject({
      code: 'LINK_VERSION_UNSUPPORTED',
      details: { gateway: [7, 9], cloud: [...LINK_PROTOCOL_VERSIONS] },
    });
    expect(other.envelope.error.message).toMatch(/versions 7, 9; this cloud speaks 1\b/);
    const none = await refused(connectLink(url, { assertion: await assertion(gateway), versions: null }));
    expect(none.status).toBe(426);
    expect(none.envelope.error.message).toMatch(/none stated/);
    // The highest common one is picked from a longer list.
    const client = await opened(
      connectLink(url, { assertion: await assertion(gateway), versions: '9,1, x' }),
    );
    expect((await client.next('link.ready')).payload.version).toBe(1);
    client.close();
    await client.closed;
  });

  it('a plain GET (no upgrade) is a 400 envelope, and touches no assertion', async () => {
    const response = await send({ method: 'GET', url: '/v1/gateway-link' });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ error: { code: 'BAD_REQUEST' } });
  });
});

describe('shutting down', () => {
  it('an instance that closes tells its link sockets (1001) and marks their gateways offline first', async () => {
    const second = await createTestApp({ now: clock.now, env, databaseUrl: ctx.databaseUrl });
    const secondUrl = await listenForLinks(second.app);
    const { member, wid } = await team();
    const gateway = await enrollTestGateway(send, wid, member);
    const client = await opened(connectLink(secondUrl, { assertion: await assertion(gateway) }));
    await client.next('link.ready');
    expect((await listed(wid, member))[0]?.online).toBe(true);
    await second.app.close();
    expect(await client.closed).toEqual({ code: 1001, reason: 'cloud shutting down' });
    expect((await listed(wid, member))[0]?.online).toBe(false);
  });
});

describe('used jtis', () => {
  it('are kept until the assertion could not be accepted anyway, then pruned', async () => {
    const { member, wid } = await team();
    const gateway = await enrollTestGateway(send, wid, member);
    const jti = randomBytes(16).toString('base64url');
    const client = await opened(connectLink(url, { assertion: await assertion(gateway, { jti }) }));
    await client.next('link.ready');
    client.close();
    await client.closed;
    const pruner = createLinkAssertions({ db: ctx.app.db, now: clock.now, audience });
    const stored = () =>
      ctx.app.db.gatewayAssertionJti.count({ where: { gatewayId: gateway.gatewayId, jti } });
    await pruner.prune();
    expect(await stored()).toBe(1);
    clock.advanceSeconds(66);
    await pruner.prune();
    expect(await stored()).toBe(0);
  });
});
