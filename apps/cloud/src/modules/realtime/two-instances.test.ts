import { randomBytes, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { REALTIME_CLOSE } from '@multiclaw/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestUser, testActors } from '../../../test/support/actors.js';
import { createTestApp } from '../../../test/support/app.js';
import { validEnv } from '../../../test/support/env.js';
import { type Frame, isEvent, signedInSocket, type TestSocket } from './test-socket.js';

type TestApp = Awaited<ReturnType<typeof createTestApp>>;

/**
 * Two cloud instances on one database, as behind a load balancer: a change
 * made through one reaches sockets held by the other, through each bus that
 * spans instances (DESIGN.md §7).
 */
describe.each(['postgres', 'nats'] as const)('two instances, EVENT_BUS=%s', (bus) => {
  // Both instances share the keys, as a real deployment does; a NATS subject of this run's own.
  const { MULTICLAW_MASTER_KEYS, MULTICLAW_TOKEN_SIGNING_KEYS } = validEnv();
  const env = {
    MULTICLAW_MASTER_KEYS,
    MULTICLAW_TOKEN_SIGNING_KEYS,
    AUTH_RATE_LIMIT_MAX: '10000',
    EVENT_BUS: bus,
    NATS_SUBJECT: `multiclaw-test.${randomBytes(6).toString('hex')}`,
    ...(process.env.NATS_URL ? { NATS_URL: process.env.NATS_URL } : {}),
  };
  let a: TestApp;
  let b: TestApp;
  let urlB: string;

  beforeAll(async () => {
    a = await createTestApp({ env });
    b = await createTestApp({ env, databaseUrl: a.databaseUrl });
    await b.app.listen({ host: '127.0.0.1', port: 0 });
    urlB = `ws://127.0.0.1:${(b.app.server.address() as AddressInfo).port}/v1/realtime`;
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  // Every HTTP request goes to instance A; every socket is held by instance B.
  const { send, signUp, workspace } = testActors(() => a, {
    address: '203.0.113.82',
    userAgent: 'realtime-two-instances/1.0',
    password: 'two instances passphrase 7',
  });

  async function createAgentOnA(wid: string, owner: TestUser): Promise<string> {
    const response = await send({
      method: 'POST',
      url: `/v1/workspaces/${wid}/agents`,
      token: owner.token,
      payload: { name: `agent-${randomUUID().slice(0, 8)}`, provider: 'anthropic', model: 'claude-sonnet-4' },
    });
    expect(response.statusCode, response.body).toBe(201);
    return response.json().id;
  }

  /** A later frame on the same socket came; the unwanted one did not come before it. */
  async function neverBefore(
    socket: TestSocket,
    unwanted: (frame: Frame) => boolean,
    marker: (frame: Frame) => boolean,
  ) {
    await socket.next(marker);
    expect(socket.frames.filter(unwanted)).toEqual([]);
  }

  it('an agent created through A reaches a member’s socket on B', async () => {
    const owner = await signUp();
    const member = await signUp();
    const wid = await workspace([owner], [member]);
    const socket = await signedInSocket(urlB, member.token);
    const agentId = await createAgentOnA(wid, owner);
    const event = await socket.next(isEvent('agent.changed', { agentId }));
    expect(event.payload.workspaceId).toBe(wid);
    socket.close();
  });

  it('a member removed on A stops hearing the workspace on B at once', async () => {
    const owner = await signUp();
    const member = await signUp();
    const wid = await workspace([owner], [member]);
    const other = await workspace([member]);
    const memberSocket = await signedInSocket(urlB, member.token);
    const ownerSocket = await signedInSocket(urlB, owner.token);
    const before = await createAgentOnA(wid, owner);
    await memberSocket.next(isEvent('agent.changed', { agentId: before }));

    const removed = await send({
      method: 'DELETE',
      url: `/v1/workspaces/${wid}/members/${member.id}`,
      token: owner.token,
    });
    expect(removed.statusCode, removed.body).toBe(204);
    const after = await createAgentOnA(wid, owner);
    await ownerSocket.next(isEvent('agent.changed', { agentId: after }));
    const marker = await createAgentOnA(other, member);
    await neverBefore(
      memberSocket,
      isEvent('agent.changed', { agentId: after }),
      isEvent('agent.changed', { agentId: marker }),
    );
    memberSocket.close();
    ownerSocket.close();
  });

  it('sign-out on A closes the socket on B (4403)', async () => {
    const user = await signUp();
    const socket = await signedInSocket(urlB, user.token);
    expect((await send({ method: 'POST', url: '/v1/auth/logout', token: user.token })).statusCode).toBe(204);
    expect((await socket.closed).code).toBe(REALTIME_CLOSE.SESSION_ENDED);
  });

  it('a member on B never hears of another member’s conversation announced on A; the owner does', async () => {
    const owner = await signUp();
    const alice = await signUp();
    const bob = await signUp();
    const wid = await workspace([owner], [alice, bob]);
    const [ownerSocket, aliceSocket, bobSocket] = (await Promise.all(
      [owner, alice, bob].map((user) => signedInSocket(urlB, user.token)),
    )) as [TestSocket, TestSocket, TestSocket];
    const conversationId = randomUUID();
    await a.app.bus.publish({
      type: 'realtime',
      event: {
        workspaceId: wid,
        kind: 'conversation.appended',
        at: new Date().toISOString(),
        userId: alice.id,
        conversationId,
        lastSeq: 3,
      },
    });
    const isAlices = isEvent('conversation.appended', { conversationId });
    await aliceSocket.next(isAlices);
    await ownerSocket.next(isAlices);
    const marker = await createAgentOnA(wid, owner);
    await neverBefore(bobSocket, isAlices, isEvent('agent.changed', { agentId: marker }));
    for (const socket of [ownerSocket, aliceSocket, bobSocket]) socket.close();
  });
});
