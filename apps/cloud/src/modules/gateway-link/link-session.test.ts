import { randomUUID } from 'node:crypto';
import {
  LINK_CLOSE,
  LINK_MAX_VIOLATIONS,
  LINK_SECRETS_FETCH_BURST,
  LINK_SECRETS_FETCH_PER_SECOND,
  linkAudience,
} from '@multiclaw/protocol';
import { manualClock } from '@multiclaw/test-support/clock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testActors } from '../../../test/support/actors.js';
import { createTestApp } from '../../../test/support/app.js';
import {
  connectLink,
  enrollTestGateway,
  type LinkClient,
  listenForLinks,
  opened,
  signTestAssertion,
  type TestGateway,
} from '../../../test/support/link-gateway.js';

/**
 * The session's clocks: the assertion deadline follows the injected clock
 * (moved by hand here), checked at every heartbeat tick, which is 200 ms in
 * this file so nothing waits for real minutes.
 */
const HEARTBEAT_MS = 200;
const clock = manualClock('2026-12-01T10:00:00Z');

let ctx: Awaited<ReturnType<typeof createTestApp>>;
let url: string;
let audience: string;

beforeAll(async () => {
  ctx = await createTestApp({
    now: clock.now,
    env: { AUTH_RATE_LIMIT_MAX: '10000' },
    gatewayLink: { heartbeatMs: HEARTBEAT_MS },
  });
  url = await listenForLinks(ctx.app);
  audience = linkAudience(ctx.config.publicUrl);
});
afterAll(async () => {
  await ctx?.close();
});

const { send, signUp, workspace } = testActors(() => ctx, {
  address: '203.0.113.72',
  userAgent: 'gateway-link-session-test/1.0',
  password: 'gateway link passphrase 12',
});

async function linked(options: { answerHeartbeats?: boolean } = {}) {
  const [owner, member] = await Promise.all([signUp(), signUp()]);
  const wid = await workspace([owner], [member]);
  const gateway = await enrollTestGateway(send, wid, member);
  const client = await opened(
    connectLink(url, { assertion: await fresh(gateway), answerHeartbeats: options.answerHeartbeats ?? true }),
  );
  await client.next('link.ready');
  await client.next('config.agents');
  return { owner, member, wid, gateway, client };
}

const fresh = (gateway: TestGateway, jti?: string) =>
  signTestAssertion(gateway, { audience, now: clock.now(), ...(jti ? { jti } : {}) });

/** A heartbeat sent after this call: the session's tick ran (and checked its deadline) since. */
async function aTickLater(client: LinkClient) {
  const after = client.frames.length;
  for (;;) {
    const beat = await client.next('link.heartbeat');
    if (client.frames.indexOf(beat) >= after) return;
  }
}

describe('re-auth', () => {
  it('without auth.refresh the socket closes 4401 once the assertion expires', async () => {
    const { client } = await linked();
    clock.advanceSeconds(30);
    await aTickLater(client);
    expect(client.socket.readyState).toBe(client.socket.OPEN);
    clock.advanceSeconds(36); // past exp (60 s) and the 5 s of skew
    expect((await client.closed).code).toBe(LINK_CLOSE.AUTH_EXPIRED);
  });

  it('auth.refresh with a fresh assertion moves the deadline to its exp; then it expires in turn', async () => {
    const { gateway, client } = await linked();
    clock.advanceSeconds(45);
    const answer = await client.request('auth.refresh', { assertion: await fresh(gateway) });
    expect(answer).toMatchObject({
      type: 'auth.ok',
      payload: { expiresAt: new Date(clock.nowMs() + 60_000).toISOString() },
    });
    clock.advanceSeconds(30); // 75 s after the first assertion: it alone would have ended the socket
    await aTickLater(client);
    await aTickLater(client);
    expect(client.socket.readyState).toBe(client.socket.OPEN);
    clock.advanceSeconds(36);
    expect((await client.closed).code).toBe(LINK_CLOSE.AUTH_EXPIRED);
  });

  it('a refresh replaying a used jti is refused and closes 4401', async () => {
    const { gateway, client } = await linked();
    const jti = randomUUID();
    const first = await client.request('auth.refresh', { assertion: await fresh(gateway, jti) });
    expect(first.type).toBe('auth.ok');
    const replay = await client.request('auth.refresh', { assertion: await fresh(gateway, jti) });
    expect(replay).toMatchObject({ type: 'link.error', payload: { code: 'LINK_AUTH_INVALID' } });
    expect((await client.closed).code).toBe(LINK_CLOSE.AUTH_EXPIRED);
  });

  it("a refresh with another gateway's valid assertion is refused, and does not use up its jti", async () => {
    const { client } = await linked();
    const stranger = await signUp();
    const other = await enrollTestGateway(send, await workspace([stranger]), stranger);
    const theirs = await fresh(other);
    const answer = await client.request('auth.refresh', { assertion: theirs });
    expect(answer).toMatchObject({ type: 'link.error', payload: { code: 'LINK_AUTH_INVALID' } });
    expect((await client.closed).code).toBe(LINK_CLOSE.AUTH_EXPIRED);
    // Their assertion was never accepted, so it still opens their own link.
    const theirClient = await opened(connectLink(url, { assertion: theirs }));
    await theirClient.next('link.ready');
    theirClient.close();
    await theirClient.closed;
  });

  it('a refresh after the gateway was revoked (even with no bus message) closes 4403', async () => {
    const { gateway, client } = await linked();
    await ctx.app.db.gateway.update({ where: { id: gateway.gatewayId }, data: { revokedAt: clock.now() } });
    const answer = await client.request('auth.refresh', { assertion: await fresh(gateway) });
    expect(answer).toMatchObject({ type: 'link.error', payload: { code: 'LINK_GATEWAY_REVOKED' } });
    expect((await client.closed).code).toBe(LINK_CLOSE.REVOKED);
  });
});

describe('frames', () => {
  const bad: Array<[string, string | Buffer]> = [
    ['not JSON', '{"v":1,'],
    ['an unknown type', JSON.stringify({ v: 1, type: 'secrets.dump', id: 'x1', payload: {} })],
    [
      'a payload that does not fit',
      JSON.stringify({ v: 1, type: 'secrets.fetch', id: 'x2', payload: { agentIds: ['nope'] } }),
    ],
    [
      'another envelope version',
      JSON.stringify({ v: 2, type: 'link.heartbeat', payload: { sentAt: '2026-12-01T10:00:00.000Z' } }),
    ],
    [
      'a request without an id',
      JSON.stringify({ v: 1, type: 'secrets.fetch', payload: { agentIds: [randomUUID()] } }),
    ],
    ['a binary frame', Buffer.from([1, 2, 3])],
  ];

  it(`each malformed or unknown frame is answered with link.error; the ${LINK_MAX_VIOLATIONS}th closes 4400`, async () => {
    const { client } = await linked();
    for (const [what, frame] of bad.slice(0, LINK_MAX_VIOLATIONS - 1)) {
      const before = client.frames.filter((f) => f.type === 'link.error').length;
      client.sendRaw(frame);
      const error = await client.next('link.error');
      expect(error.payload.code, what).toMatch(/^PROTOCOL_/);
      expect(client.frames.filter((f) => f.type === 'link.error').length).toBe(before + 1);
    }
    // The errors answer the request that carried an id.
    expect(client.frames.filter((f) => f.type === 'link.error').map((f) => f.id)).toEqual([
      undefined,
      'x1',
      'x2',
      undefined,
    ]);
    expect(client.socket.readyState).toBe(client.socket.OPEN);
    client.sendRaw(bad[LINK_MAX_VIOLATIONS - 1]?.[1] ?? '');
    expect((await client.closed).code).toBe(LINK_CLOSE.VIOLATIONS);
  });

  it('a binary frame counts too, and good frames in between do not reset the count', async () => {
    const { client } = await linked();
    for (let i = 0; i < LINK_MAX_VIOLATIONS - 1; i += 1) {
      client.sendRaw(Buffer.from([i]));
      client.send('link.heartbeat', { sentAt: clock.now().toISOString() });
    }
    await aTickLater(client);
    expect(client.socket.readyState).toBe(client.socket.OPEN);
    client.sendRaw('[]');
    expect((await client.closed).code).toBe(LINK_CLOSE.VIOLATIONS);
  });
});

describe('secrets.fetch budget', () => {
  it(`answers a burst of ${LINK_SECRETS_FETCH_BURST}, refuses the next (RATE_LIMITED, counted), refills with the clock, and closes 4400 at the ${LINK_MAX_VIOLATIONS}th refusal`, async () => {
    const { client, wid } = await linked();
    const fetch = () => client.request('secrets.fetch', { agentIds: [randomUUID()] });
    const audited = () =>
      ctx.app.db.auditEvent.count({ where: { workspaceId: wid, action: 'secret.fetched_by_gateway' } });
    const auditedBefore = await audited();
    for (let i = 0; i < LINK_SECRETS_FETCH_BURST; i += 1) {
      expect((await fetch()).type, `fetch ${i + 1}`).toBe('secrets.value');
    }
    const refused = await fetch();
    expect(refused).toMatchObject({ type: 'link.error', payload: { code: 'RATE_LIMITED' } });
    expect(client.socket.readyState).toBe(client.socket.OPEN);

    // The bucket refills with the session's clock.
    clock.advanceSeconds(1);
    for (let i = 0; i < LINK_SECRETS_FETCH_PER_SECOND; i += 1) {
      expect((await fetch()).type).toBe('secrets.value');
    }
    expect((await fetch()).type).toBe('link.error');
    expect(await audited()).toBe(auditedBefore);

    // Each refusal is a violation: the LINK_MAX_VIOLATIONS-th closes the socket.
    for (let i = 2; i < LINK_MAX_VIOLATIONS; i += 1) {
      client.send('secrets.fetch', { agentIds: [randomUUID()] }, randomUUID());
    }
    expect((await client.closed).code).toBe(LINK_CLOSE.VIOLATIONS);
  });
});

describe('heartbeats', () => {
  it('the cloud sends one every interval, and cuts off a gateway silent for three', async () => {
    const { client } = await linked({ answerHeartbeats: false });
    const closed = await client.closed;
    expect(closed.code).toBe(1006); // terminated: no close frame for a peer that is not there
    expect(client.frames.filter((f) => f.type === 'link.heartbeat').length).toBeGreaterThanOrEqual(3);
  });

  it('a gateway that answers stays connected past three intervals', async () => {
    const { client } = await linked();
    for (let i = 0; i < 5; i += 1) await aTickLater(client);
    expect(client.socket.readyState).toBe(client.socket.OPEN);
    client.close();
    await client.closed;
  });
});
