import { randomBytes, randomUUID } from 'node:crypto';
import {
  Agent,
  Gateway,
  LINK_CLOSE,
  linkAudience,
  Page,
  type RealtimeEvent,
  type SyncMessage,
} from '@multiclaw/protocol';
import { manualClock } from '@multiclaw/test-support/clock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestUser, testActors } from '../../../test/support/actors.js';
import { createTestApp } from '../../../test/support/app.js';
import { validEnv } from '../../../test/support/env.js';
import {
  connectLink,
  enrollTestGateway,
  eventually,
  type LinkClient,
  listenForLinks,
  opened,
  refused,
  signTestAssertion,
  type TestGateway,
} from '../../../test/support/link-gateway.js';

/**
 * What reaches a link socket from outside it: revokes, membership ends and
 * agent changes through the HTTP API (on this instance and, through each
 * bus, on another), presence in the gateways list and on the bus, secrets
 * and transcript batches over the link.
 */
const clock = manualClock('2026-12-01T11:00:00Z');
const { MULTICLAW_MASTER_KEYS, MULTICLAW_TOKEN_SIGNING_KEYS } = validEnv();
const env = { MULTICLAW_MASTER_KEYS, MULTICLAW_TOKEN_SIGNING_KEYS, AUTH_RATE_LIMIT_MAX: '10000' };

type Ctx = Awaited<ReturnType<typeof createTestApp>>;
let ctx: Ctx;
let audience: string;
const events: RealtimeEvent[] = [];

let url: string;

beforeAll(async () => {
  ctx = await createTestApp({ now: clock.now, env });
  url = await listenForLinks(ctx.app);
  audience = linkAudience(ctx.config.publicUrl);
  ctx.app.bus.subscribe((message) => {
    if (message.type === 'realtime') events.push(message.event);
  });
});
afterAll(async () => {
  await ctx?.close();
});

const { send, signUp, workspace } = testActors(() => ctx, {
  address: '203.0.113.73',
  userAgent: 'gateway-link-events-test/1.0',
  password: 'gateway link passphrase 13',
});

async function team() {
  const [owner, member] = await Promise.all([signUp(), signUp()]);
  const wid = await workspace([owner], [member]);
  return { owner, member, wid };
}

const assertion = (gateway: TestGateway) => signTestAssertion(gateway, { audience, now: clock.now() });

async function link(gateway: TestGateway, at = url): Promise<LinkClient> {
  const client = await opened(connectLink(at, { assertion: await assertion(gateway) }));
  await client.next('link.ready');
  await client.next('config.agents');
  return client;
}

const listed = async (wid: string, user: TestUser) => {
  const response = await send({ method: 'GET', url: `/v1/workspaces/${wid}/gateways`, token: user.token });
  expect(response.statusCode, response.body).toBe(200);
  return Page(Gateway).parse(response.json()).items;
};

/** The requirement is "within a second": the promise must settle in that time. */
async function withinASecond<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took over a second`)), 1000);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

async function createAgent(wid: string, owner: TestUser, secretIds: string[] = []) {
  const response = await send({
    method: 'POST',
    url: `/v1/workspaces/${wid}/agents`,
    token: owner.token,
    payload: {
      name: `agent-${randomBytes(3).toString('hex')}`,
      provider: 'openai',
      model: 'gpt-5',
      secretIds,
    },
  });
  expect(response.statusCode, response.body).toBe(201);
  return Agent.parse(response.json());
}

async function createSecret(wid: string, owner: TestUser, value: string, agentIds: string[] = []) {
  const response = await send({
    method: 'POST',
    url: `/v1/workspaces/${wid}/secrets`,
    token: owner.token,
    payload: { name: `SECRET_${randomBytes(3).toString('hex').toUpperCase()}`, value, agentIds },
  });
  expect(response.statusCode, response.body).toBe(201);
  return (response.json() as { id: string }).id;
}

describe('presence', () => {
  it('heartbeats keep lastSeenAt fresh; a gateway silent past three intervals is listed offline', async () => {
    const { member, wid } = await team();
    const gateway = await enrollTestGateway(send, wid, member);
    const client = await link(gateway);
    const openedAt = clock.now().toISOString();
    expect((await listed(wid, member))[0]).toMatchObject({ online: true, lastSeenAt: openedAt });

    clock.advanceSeconds(20);
    client.send('link.heartbeat', { sentAt: clock.now().toISOString() });
    const seen = clock.now().toISOString();
    await eventually(
      () => listed(wid, member),
      ([row]) => row?.lastSeenAt === seen,
      'lastSeenAt refreshed',
    );

    clock.advanceSeconds(31); // 31 s without a heartbeat (the socket's own timer has not run on this clock)
    expect((await listed(wid, member))[0]).toMatchObject({ online: false, lastSeenAt: seen });
    client.send('link.heartbeat', { sentAt: clock.now().toISOString() });
    await eventually(
      () => listed(wid, member),
      ([row]) => row?.online === true,
      'online again',
    );
    client.close();
    await client.closed;
    await eventually(
      () => listed(wid, member),
      ([row]) => row?.online === false,
      'offline after close',
    );
  });

  it('gateway.online and gateway.offline go on the bus for the gateway’s person (and owners)', async () => {
    const { member, wid } = await team();
    const gateway = await enrollTestGateway(send, wid, member);
    const client = await link(gateway);
    client.close();
    await client.closed;
    const mine = () => events.filter((event) => event.gatewayId === gateway.gatewayId);
    await eventually(
      async () => mine().map((event) => event.kind),
      (kinds) => kinds.length === 2,
      'two events',
    );
    expect(mine()).toEqual([
      expect.objectContaining({ kind: 'gateway.online', workspaceId: wid, userId: member.id }),
      expect.objectContaining({ kind: 'gateway.offline', workspaceId: wid, userId: member.id }),
    ]);
  });

  it('a second connection of the same gateway replaces the first (4409) and it stays online', async () => {
    const { member, wid } = await team();
    const gateway = await enrollTestGateway(send, wid, member);
    const first = await link(gateway);
    clock.advanceMs(1);
    const second = await link(gateway);
    expect((await first.closed).code).toBe(LINK_CLOSE.REPLACED);
    // The first one's close must not take the gateway offline: sample for a while.
    for (let i = 0; i < 10; i += 1) {
      expect((await listed(wid, member))[0]?.online).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(events.filter((e) => e.gatewayId === gateway.gatewayId && e.kind === 'gateway.offline')).toEqual(
      [],
    );
    second.close();
    await second.closed;
  });
});

describe('revocation and membership', () => {
  it('revoking through the API closes the socket (4403) within a second; it cannot come back', async () => {
    const { owner, member, wid } = await team();
    const gateway = await enrollTestGateway(send, wid, member);
    const client = await link(gateway);
    const revoke = await send({
      method: 'DELETE',
      url: `/v1/workspaces/${wid}/gateways/${gateway.gatewayId}`,
      token: owner.token,
    });
    expect(revoke.statusCode).toBe(204);
    expect((await withinASecond(client.closed, 'the close')).code).toBe(LINK_CLOSE.REVOKED);
    const again = await refused(connectLink(url, { assertion: await assertion(gateway) }));
    expect(again.status).toBe(403);
    expect((await listed(wid, member))[0]).toMatchObject({ online: false });
  });

  it('removing the gateway’s person from the workspace closes it (4403); another member’s gateway stays', async () => {
    const { owner, member, wid } = await team();
    const colleague = await signUp();
    await ctx.app.db.membership.create({ data: { workspaceId: wid, userId: colleague.id, role: 'member' } });
    const leaving = await link(await enrollTestGateway(send, wid, member));
    const staying = await link(await enrollTestGateway(send, wid, colleague));
    const removal = await send({
      method: 'DELETE',
      url: `/v1/workspaces/${wid}/members/${member.id}`,
      token: owner.token,
    });
    expect(removal.statusCode, removal.body).toBe(204);
    expect((await withinASecond(leaving.closed, 'the close')).code).toBe(LINK_CLOSE.REVOKED);
    expect(staying.socket.readyState).toBe(staying.socket.OPEN);
    staying.close();
    await staying.closed;
  });
});

describe('config.agents', () => {
  it('a change through the API reaches the workspace’s sockets within a second, versioned, deletions included', async () => {
    const { owner, member, wid } = await team();
    const client = await link(await enrollTestGateway(send, wid, member));
    const outsider = await team();
    const elsewhere = await link(await enrollTestGateway(send, outsider.wid, outsider.member));

    const agent = await createAgent(wid, owner);
    const created = await withinASecond(client.next('config.agents'), 'config.agents after create');
    expect(created.payload).toEqual({ version: 1, agents: [agent] });

    const patch = await send({
      method: 'PATCH',
      url: `/v1/workspaces/${wid}/agents/${agent.id}`,
      token: owner.token,
      payload: { systemPrompt: 'be brief' },
    });
    expect(patch.statusCode, patch.body).toBe(200);
    const updated = await withinASecond(client.next('config.agents'), 'config.agents after update');
    expect(updated.payload.version).toBe(2);
    expect(updated.payload.agents).toEqual([Agent.parse(patch.json())]);

    const removed = await send({
      method: 'DELETE',
      url: `/v1/workspaces/${wid}/agents/${agent.id}`,
      token: owner.token,
    });
    expect(removed.statusCode).toBe(204);
    const deleted = await withinASecond(client.next('config.agents'), 'config.agents after delete');
    expect(deleted.payload).toEqual({ version: 3, agents: [] });

    // Another workspace's socket heard nothing of it.
    expect(elsewhere.frames.filter((frame) => frame.type === 'config.agents')).toHaveLength(1);
    for (const socket of [client, elsewhere]) socket.close();
    await Promise.all([client.closed, elsewhere.closed]);
  });
});

describe('after a bus outage', () => {
  it('the instance re-checks its sockets: one revoked meanwhile is closed, a workspace changed meanwhile gets its agents', async () => {
    const { owner, member, wid } = await team();
    const colleague = await signUp();
    await ctx.app.db.membership.create({ data: { workspaceId: wid, userId: colleague.id, role: 'member' } });
    const agent = await createAgent(wid, owner);
    const revokedMeanwhile = await enrollTestGateway(send, wid, member);
    const doomed = await link(revokedMeanwhile);
    const survivor = await link(await enrollTestGateway(send, wid, colleague));
    // Changes made with no bus message at all, as if it had been lost.
    await ctx.app.db.gateway.update({
      where: { id: revokedMeanwhile.gatewayId },
      data: { revokedAt: clock.now() },
    });
    await ctx.app.db.$transaction([
      ctx.app.db.agent.update({ where: { id: agent.id }, data: { name: 'renamed while nobody heard' } }),
      ctx.app.db.workspace.update({ where: { id: wid }, data: { configVersion: { increment: 1 } } }),
    ]);
    // Drop this instance's LISTEN connection; the bus reconnects and says so.
    const listeners = await ctx.app.db.$queryRaw<Array<{ pid: number }>>`
      SELECT pid FROM pg_stat_activity
      WHERE datname = current_database() AND application_name = 'multiclaw-cloud event bus'`;
    expect(listeners.length).toBeGreaterThan(0);
    for (const { pid } of listeners) await ctx.app.db.$queryRaw`SELECT pg_terminate_backend(${pid})`;

    const closed = await Promise.race([
      doomed.closed,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('not closed after the reconnect')), 15_000),
      ),
    ]);
    expect(closed.code).toBe(LINK_CLOSE.REVOKED);
    const pushed = await survivor.next('config.agents', { timeoutMs: 15_000 });
    expect(pushed.payload.agents.map((a) => a.name)).toEqual(['renamed while nobody heard']);
    survivor.close();
    await survivor.closed;
  });
});

describe('secrets.fetch', () => {
  it('answers the values granted to the workspace’s agents, audited; nothing for ungranted or foreign agents', async () => {
    const { owner, member, wid } = await team();
    const granted = await createAgent(wid, owner);
    const ungranted = await createAgent(wid, owner);
    const secretId = await createSecret(wid, owner, 'sk-live-granted', [granted.id]);
    const other = await team();
    const foreign = await createAgent(other.wid, other.owner);
    await createSecret(other.wid, other.owner, 'sk-live-foreign', [foreign.id]);
    const gateway = await enrollTestGateway(send, wid, member);
    const client = await link(gateway);

    const answer = await client.request('secrets.fetch', {
      agentIds: [granted.id, ungranted.id, foreign.id],
    });
    expect(answer).toMatchObject({
      type: 'secrets.value',
      payload: { secrets: [{ id: secretId, version: 1, agentIds: [granted.id], value: 'sk-live-granted' }] },
    });
    for (const agentIds of [[ungranted.id], [foreign.id], [randomUUID()]]) {
      expect(await client.request('secrets.fetch', { agentIds })).toMatchObject({
        type: 'secrets.value',
        payload: { secrets: [] },
      });
    }
    const audited = await ctx.app.db.auditEvent.findMany({
      where: { workspaceId: wid, action: 'secret.fetched_by_gateway' },
    });
    expect(audited.map((entry) => [entry.actorId, entry.targetId])).toEqual([[gateway.gatewayId, secretId]]);
    expect(JSON.stringify(audited.map((entry) => entry.metadata))).not.toContain('sk-live');
    const foreignAudit = await ctx.app.db.auditEvent.count({
      where: { workspaceId: other.wid, action: 'secret.fetched_by_gateway' },
    });
    expect(foreignAudit).toBe(0);
    client.close();
    await client.closed;
  });

  it('a gateway whose person left (with no bus message) is refused and closed 4403', async () => {
    const { owner, member, wid } = await team();
    const agent = await createAgent(wid, owner);
    await createSecret(wid, owner, 'sk-live-gone', [agent.id]);
    const client = await link(await enrollTestGateway(send, wid, member));
    await ctx.app.db.membership.delete({
      where: { workspaceId_userId: { workspaceId: wid, userId: member.id } },
    });
    const answer = await client.request('secrets.fetch', { agentIds: [agent.id] });
    expect(answer).toMatchObject({ type: 'link.error', payload: { code: 'SECRET_GATEWAY_NOT_AUTHORIZED' } });
    expect(JSON.stringify(client.frames)).not.toContain('sk-live-gone');
    expect((await client.closed).code).toBe(LINK_CLOSE.REVOKED);
  });
});

describe('sync.batch', () => {
  const message = (seq: number): SyncMessage => ({
    id: randomUUID(),
    seq,
    role: seq % 2 ? 'user' : 'assistant',
    content: `message ${seq}`,
    createdAt: new Date(clock.nowMs() + seq).toISOString(),
  });

  it('batches are applied in order and acked with the request id; a foreign workspace agent is refused', async () => {
    const { member, wid } = await team();
    const other = await team();
    const foreign = await createAgent(other.wid, other.owner);
    const client = await link(await enrollTestGateway(send, wid, member));
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    // Sent back to back, without waiting: each must be applied after the one before.
    ids.forEach((id, index) => {
      const messages = [1, 2].map((n) => message(index * 2 + n));
      client.send(
        'sync.batch',
        { conversations: [{ conversationId: 'c-1', agentId: 'main', agentSource: 'local', messages }] },
        id,
      );
    });
    const acks = [];
    for (const id of ids) acks.push(await client.next('sync.ack', { id }));
    expect(acks.map((ack) => ack.payload.acks)).toEqual([
      [{ conversationId: 'c-1', ackedSeq: 2, state: 'stored' }],
      [{ conversationId: 'c-1', ackedSeq: 4, state: 'stored' }],
      [{ conversationId: 'c-1', ackedSeq: 6, state: 'stored' }],
    ]);
    const ackOrder = client.frames.filter((frame) => frame.type === 'sync.ack').map((frame) => frame.id);
    expect(ackOrder).toEqual(ids);

    const naming = await client.request('sync.batch', {
      conversations: [
        { conversationId: 'c-2', agentId: foreign.id, agentSource: 'workspace', messages: [message(1)] },
      ],
    });
    expect(naming).toMatchObject({
      type: 'sync.ack',
      payload: { acks: [{ conversationId: 'c-2', ackedSeq: 0, state: 'refused' }] },
    });
    expect(await ctx.app.db.conversation.count({ where: { workspaceId: other.wid } })).toBe(0);
    client.close();
    await client.closed;
  });
});

describe.each(['postgres', 'nats'] as const)('across two instances on the %s bus', (bus) => {
  let a: Ctx;
  let b: Ctx;
  let bUrl: string;
  const busEnv = {
    ...env,
    EVENT_BUS: bus,
    NATS_SUBJECT: `multiclaw-link-test.${randomBytes(6).toString('hex')}`,
  };

  beforeAll(async () => {
    a = await createTestApp({ now: clock.now, env: busEnv });
    b = await createTestApp({ now: clock.now, env: busEnv, databaseUrl: a.databaseUrl });
    bUrl = await listenForLinks(b.app);
  });
  afterAll(async () => {
    await b?.app.close();
    await a?.close();
  });

  const actors = testActors(() => a, {
    address: '203.0.113.74',
    userAgent: 'gateway-link-events-test/1.0',
    password: 'gateway link passphrase 14',
  });

  it('a revoke, an agent change and a removal made at one instance reach sockets held by the other within a second', async () => {
    const [owner, member, colleague] = await Promise.all([actors.signUp(), actors.signUp(), actors.signUp()]);
    const wid = await actors.workspace([owner], [member, colleague]);
    const revoked = await enrollTestGateway(actors.send, wid, member);
    const first = await link(revoked, bUrl);
    const second = await link(await enrollTestGateway(actors.send, wid, colleague), bUrl);

    const created = await actors.send({
      method: 'POST',
      url: `/v1/workspaces/${wid}/agents`,
      token: owner.token,
      payload: { name: 'shared', provider: 'anthropic', model: 'claude' },
    });
    expect(created.statusCode, created.body).toBe(201);
    for (const client of [first, second]) {
      const pushed = await withinASecond(client.next('config.agents'), 'config.agents on the other instance');
      expect(pushed.payload.agents.map((agent) => agent.name)).toEqual(['shared']);
    }

    const revoke = await actors.send({
      method: 'DELETE',
      url: `/v1/workspaces/${wid}/gateways/${revoked.gatewayId}`,
      token: member.token,
    });
    expect(revoke.statusCode).toBe(204);
    expect((await withinASecond(first.closed, 'the close on the other instance')).code).toBe(
      LINK_CLOSE.REVOKED,
    );

    const removal = await actors.send({
      method: 'DELETE',
      url: `/v1/workspaces/${wid}/members/${colleague.id}`,
      token: owner.token,
    });
    expect(removal.statusCode, removal.body).toBe(204);
    expect((await withinASecond(second.closed, 'the close on the other instance')).code).toBe(
      LINK_CLOSE.REVOKED,
    );
  });
});
