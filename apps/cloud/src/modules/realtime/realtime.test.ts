import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { REALTIME_CLOSE, WS_PROTOCOL_VERSION } from '@multiclaw/protocol';
import { manualClock } from '@multiclaw/test-support/clock';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type TestUser, testActors } from '../../../test/support/actors.js';
import { createTestApp } from '../../../test/support/app.js';
import { MAX_VIOLATIONS } from './connection.js';
import { type Frame, isEvent, openTestSocket, signedInSocket, type TestSocket } from './test-socket.js';

const clock = manualClock('2026-12-01T09:00:00Z');
let ctx: Awaited<ReturnType<typeof createTestApp>>;
let url: string;

beforeAll(async () => {
  ctx = await createTestApp({ now: clock.now, env: { AUTH_RATE_LIMIT_MAX: '10000' } });
  await ctx.app.listen({ host: '127.0.0.1', port: 0 });
  url = `ws://127.0.0.1:${(ctx.app.server.address() as AddressInfo).port}/v1/realtime`;
});
afterAll(async () => {
  await ctx?.close();
});

const PASSWORD = 'realtime passphrase 2026';
const { send, signUp, workspace } = testActors(() => ctx, {
  address: '203.0.113.81',
  userAgent: 'realtime-test/1.0',
  password: PASSWORD,
});

/** A second session of the same person. */
async function signIn(user: TestUser): Promise<{ accessToken: string }> {
  const response = await send({
    method: 'POST',
    url: '/v1/auth/login',
    payload: { email: (await me(user)).email, password: PASSWORD },
  });
  expect(response.statusCode, response.body).toBe(200);
  return response.json();
}

/** The session id (`sid`) an access token carries. */
function sessionOf(token: string): string {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()).sid;
}

const agent = (name = `agent-${randomUUID().slice(0, 8)}`) => ({
  name,
  provider: 'anthropic',
  model: 'claude-sonnet-4',
});

async function createAgent(wid: string, owner: TestUser): Promise<string> {
  const response = await send({
    method: 'POST',
    url: `/v1/workspaces/${wid}/agents`,
    token: owner.token,
    payload: agent(),
  });
  expect(response.statusCode, response.body).toBe(201);
  return response.json().id;
}

/** What the transcripts module announces when a conversation grows: the person's own resource. */
async function conversationAppended(wid: string, userId: string) {
  const event = {
    workspaceId: wid,
    kind: 'conversation.appended' as const,
    at: clock.now().toISOString(),
    userId,
    conversationId: randomUUID(),
    lastSeq: 1,
  };
  await ctx.app.bus.publish({ type: 'realtime', event });
  return event;
}

/**
 * Proves a socket was not sent a frame: a later marker frame reaches it
 * (frames on one socket keep their order), and the frame was not before it.
 */
async function neverGot(
  socket: TestSocket,
  unwanted: (frame: Frame) => boolean,
  marker: () => Promise<unknown>,
  markerFrame: (frame: Frame) => boolean,
) {
  await marker();
  await socket.next(markerFrame);
  expect(socket.frames.filter(unwanted)).toEqual([]);
}

describe('GET /v1/realtime: signing in', () => {
  it('answers auth.token with auth.ok {userId, expiresAt} and the request id', async () => {
    const user = await signUp();
    const socket = await openTestSocket(url);
    socket.auth(user.token, 'a1');
    const ok = await socket.next((frame) => frame.type === 'auth.ok');
    expect(ok.id).toBe('a1');
    expect(ok.payload.userId).toBe(user.id);
    // The access token's own expiry: ten minutes after it was signed by the manual clock.
    expect(ok.payload.expiresAt).toBe(new Date(clock.nowMs() + 600_000).toISOString());
    socket.close();
  });

  it('never reads a token from the URL or a header: without the frame the socket closes at 5 s (4401)', async () => {
    const user = await signUp();
    const wid = await workspace([user]);
    const socket = await openTestSocket(`${url}?access_token=${user.token}&token=${user.token}`, {
      headers: { authorization: `Bearer ${user.token}` },
    });
    await createAgent(wid, user);
    expect((await socket.closed).code).toBe(REALTIME_CLOSE.UNAUTHENTICATED);
    expect(socket.frames.map((frame) => frame.type)).not.toContain('auth.ok');
    expect(socket.frames.map((frame) => frame.type)).not.toContain('realtime.event');
  });

  it('refuses an invalid token: realtime.error UNAUTHENTICATED, then 4401', async () => {
    const user = await signUp();
    const socket = await openTestSocket(url);
    const [header, payload, signature] = user.token.split('.');
    const flipped = `${header}.${payload}.${signature?.startsWith('A') ? 'B' : 'A'}${signature?.slice(1)}`;
    socket.auth(flipped);
    const error = await socket.next((frame) => frame.type === 'realtime.error');
    expect(error.payload.code).toBe('UNAUTHENTICATED');
    expect((await socket.closed).code).toBe(REALTIME_CLOSE.UNAUTHENTICATED);
  });

  it('refuses the token of a session that already ended', async () => {
    const user = await signUp();
    expect((await send({ method: 'POST', url: '/v1/auth/logout', token: user.token })).statusCode).toBe(204);
    const socket = await openTestSocket(url);
    socket.auth(user.token);
    expect((await socket.next((frame) => frame.type === 'realtime.error')).payload.code).toBe(
      'UNAUTHENTICATED',
    );
    expect((await socket.closed).code).toBe(REALTIME_CLOSE.UNAUTHENTICATED);
  });

  it('takes a fresh token of the same person, and refuses another person’s on the same socket', async () => {
    const alice = await signUp();
    const bob = await signUp();
    const socket = await signedInSocket(url, alice.token);
    clock.advanceSeconds(1);
    const again = await signIn(alice);
    const before = socket.frames.length;
    socket.auth(again.accessToken, 'renew');
    const renewed = await socket.next((frame) => frame.type === 'auth.ok', before);
    expect(renewed.id).toBe('renew');
    expect(renewed.payload.userId).toBe(alice.id);

    socket.auth(bob.token, 'switch');
    const refused = await socket.next((frame) => frame.type === 'realtime.error');
    expect(refused.id).toBe('switch');
    expect(refused.payload.code).toBe('UNAUTHENTICATED');
    expect((await socket.closed).code).toBe(REALTIME_CLOSE.UNAUTHENTICATED);
    expect(
      socket.frames.filter((frame) => frame.type === 'auth.ok' && frame.payload.userId === bob.id),
    ).toEqual([]);
  });

  it('answers each malformed frame with realtime.error and closes after five (4400)', async () => {
    const user = await signUp();
    const socket = await signedInSocket(url, user.token);
    const junk = [
      'not json',
      '{"v":1}',
      JSON.stringify({ v: 99, type: 'auth.token', payload: { accessToken: 'x' } }),
      JSON.stringify({ v: WS_PROTOCOL_VERSION, type: 'events.subscribe', payload: {} }),
      JSON.stringify({ v: WS_PROTOCOL_VERSION, type: 'auth.token', payload: { accessToken: '' } }),
    ];
    expect(junk).toHaveLength(MAX_VIOLATIONS);
    for (const raw of junk) socket.send(raw);
    const { code } = await socket.closed;
    expect(code).toBe(REALTIME_CLOSE.VIOLATIONS);
    const errors = socket.frames.filter((frame) => frame.type === 'realtime.error');
    expect(errors.map((frame) => frame.payload.code)).toEqual([
      'PROTOCOL_INVALID_FRAME',
      'PROTOCOL_INVALID_FRAME',
      'PROTOCOL_UNSUPPORTED_VERSION',
      'PROTOCOL_INVALID_FRAME',
      'PROTOCOL_INVALID_FRAME',
    ]);
  });
});

async function me(user: TestUser): Promise<{ email: string }> {
  const response = await send({ method: 'GET', url: '/v1/me', token: user.token });
  expect(response.statusCode, response.body).toBe(200);
  return response.json().user ?? response.json();
}

describe('GET /v1/realtime: who hears what', () => {
  it('delivers a workspace’s changes to its members as they happen', async () => {
    const owner = await signUp();
    const member = await signUp();
    const wid = await workspace([owner], [member]);
    const socket = await signedInSocket(url, member.token);
    const agentId = await createAgent(wid, owner);
    const event = await socket.next(isEvent('agent.changed', { agentId }));
    expect(event.payload).toMatchObject({ workspaceId: wid, kind: 'agent.changed', agentId });
    socket.close();
  });

  it('gives a person’s conversation only to that person and the owners; other members and outsiders get nothing', async () => {
    const owner = await signUp();
    const alice = await signUp();
    const bob = await signUp();
    const outsider = await signUp();
    const wid = await workspace([owner], [alice, bob]);
    const elsewhere = await workspace([outsider], [bob]);
    const sockets = await Promise.all(
      [owner, alice, bob, outsider].map((user) => signedInSocket(url, user.token)),
    );
    const [ownerSocket, aliceSocket, bobSocket, outsiderSocket] = sockets as [
      TestSocket,
      TestSocket,
      TestSocket,
      TestSocket,
    ];

    const event = await conversationAppended(wid, alice.id);
    const isAlices = isEvent('conversation.appended', { conversationId: event.conversationId });
    await aliceSocket.next(isAlices);
    await ownerSocket.next(isAlices);

    // Bob and the outsider are listening (they get their own workspace's next event), and got none of Alice's.
    const marker = await createAgent(elsewhere, outsider);
    await neverGot(bobSocket, isAlices, async () => {}, isEvent('agent.changed', { agentId: marker }));
    await neverGot(outsiderSocket, isAlices, async () => {}, isEvent('agent.changed', { agentId: marker }));
    expect(outsiderSocket.frames.filter((frame) => frame.payload.workspaceId === wid)).toEqual([]);
    for (const socket of sockets) socket.close();
  });

  it('stops a removed member’s socket hearing the workspace at once', async () => {
    const owner = await signUp();
    const member = await signUp();
    const wid = await workspace([owner], [member]);
    const other = await workspace([member]);
    const memberSocket = await signedInSocket(url, member.token);
    const ownerSocket = await signedInSocket(url, owner.token);
    const first = await createAgent(wid, owner);
    await memberSocket.next(isEvent('agent.changed', { agentId: first }));

    const removed = await send({
      method: 'DELETE',
      url: `/v1/workspaces/${wid}/members/${member.id}`,
      token: owner.token,
    });
    expect(removed.statusCode, removed.body).toBe(204);
    const after = await createAgent(wid, owner);
    await ownerSocket.next(isEvent('agent.changed', { agentId: after }));
    const marker = await createAgent(other, member);
    await neverGot(
      memberSocket,
      isEvent('agent.changed', { agentId: after }),
      async () => {},
      isEvent('agent.changed', { agentId: marker }),
    );
    memberSocket.close();
    ownerSocket.close();
  });

  it('tells the removed member themselves, once, so their app leaves the workspace at once', async () => {
    const owner = await signUp();
    const member = await signUp();
    const bystander = await signUp();
    const wid = await workspace([owner], [member]);
    const elsewhere = await workspace([bystander]);
    const memberSocket = await signedInSocket(url, member.token);
    const bystanderSocket = await signedInSocket(url, bystander.token);
    const removed = await send({
      method: 'DELETE',
      url: `/v1/workspaces/${wid}/members/${member.id}`,
      token: owner.token,
    });
    expect(removed.statusCode, removed.body).toBe(204);
    const told = await memberSocket.next(isEvent('member.changed', { memberId: member.id }));
    expect(told.payload).toMatchObject({ workspaceId: wid, kind: 'member.changed', memberId: member.id });
    // Someone who never belonged to the workspace hears nothing of it.
    const marker = await createAgent(elsewhere, bystander);
    await neverGot(
      bystanderSocket,
      isEvent('member.changed', { memberId: member.id }),
      async () => {},
      isEvent('agent.changed', { agentId: marker }),
    );
    memberSocket.close();
    bystanderSocket.close();
  });

  it('starts a new member’s socket hearing the workspace once they join', async () => {
    const owner = await signUp();
    const joiner = await signUp();
    const wid = await workspace([owner]);
    const socket = await signedInSocket(url, joiner.token);
    const invited = await send({
      method: 'POST',
      url: `/v1/workspaces/${wid}/invitations`,
      token: owner.token,
      payload: { email: (await me(joiner)).email, role: 'member' },
    });
    expect(invited.statusCode, invited.body).toBe(201);
    const accepted = await send({
      method: 'POST',
      url: '/v1/invitations/accept',
      token: joiner.token,
      payload: { token: invited.json().token },
    });
    expect(accepted.statusCode, accepted.body).toBeLessThan(300);
    // The joiner is told too (they were not in the audience yet), so their app shows the workspace at once.
    const told = await socket.next(isEvent('member.changed', { memberId: joiner.id }));
    expect(told.payload).toMatchObject({ workspaceId: wid, kind: 'member.changed', memberId: joiner.id });
    // Its member.changed makes this instance read the joiner's workspaces again, in
    // the background: the workspace's events reach the joiner from then on.
    await vi.waitFor(
      async () => {
        await createAgent(wid, owner);
        expect(socket.frames.some((frame) => frame.payload.workspaceId === wid)).toBe(true);
      },
      { timeout: 10_000, interval: 20 },
    );
    socket.close();
  });

  it('starts the creator’s open socket hearing a workspace it creates', async () => {
    const owner = await signUp();
    const socket = await signedInSocket(url, owner.token);
    const created = await send({
      method: 'POST',
      url: '/v1/workspaces',
      token: owner.token,
      payload: { name: 'fresh' },
    });
    expect(created.statusCode, created.body).toBe(201);
    const wid: string = created.json().id;
    await vi.waitFor(
      async () => {
        await createAgent(wid, owner);
        expect(socket.frames.some(isEvent('agent.changed', { workspaceId: wid }))).toBe(true);
      },
      { timeout: 10_000, interval: 20 },
    );
    socket.close();
  });

  it('tells members of a secret change by id only', async () => {
    const owner = await signUp();
    const member = await signUp();
    const wid = await workspace([owner], [member]);
    const socket = await signedInSocket(url, member.token);
    const value = `sk-${randomUUID()}`;
    const created = await send({
      method: 'POST',
      url: `/v1/workspaces/${wid}/secrets`,
      token: owner.token,
      payload: { name: 'PROVIDER_KEY', value },
    });
    expect(created.statusCode, created.body).toBe(201);
    const event = await socket.next(isEvent('secret.changed', { secretId: created.json().id }));
    expect(JSON.stringify(event)).not.toContain(value);
    expect(JSON.stringify(event)).not.toContain('PROVIDER_KEY');
    socket.close();
  });

  it('tells only owners of an invitation made, revoked or accepted, by id: members and the invited person hear nothing of it', async () => {
    const [owner, coOwner, member, invited] = await Promise.all([signUp(), signUp(), signUp(), signUp()]);
    const wid = await workspace([owner, coOwner], [member]);
    const [coOwnerSocket, memberSocket, invitedSocket] = (await Promise.all(
      [coOwner, member, invited].map((user) => signedInSocket(url, user.token)),
    )) as [TestSocket, TestSocket, TestSocket];
    const invite = async (email: string) => {
      const response = await send({
        method: 'POST',
        url: `/v1/workspaces/${wid}/invitations`,
        token: owner.token,
        payload: { email, role: 'member' },
      });
      expect(response.statusCode, response.body).toBe(201);
      return response.json() as { id: string; token: string };
    };

    const revoked = await invite('someone-else@example.test');
    await coOwnerSocket.next(isEvent('invitation.changed', { invitationId: revoked.id }));
    const removed = await send({
      method: 'DELETE',
      url: `/v1/workspaces/${wid}/invitations/${revoked.id}`,
      token: owner.token,
    });
    expect(removed.statusCode, removed.body).toBeLessThan(300);
    await vi.waitFor(() =>
      expect(
        coOwnerSocket.frames.filter(isEvent('invitation.changed', { invitationId: revoked.id })),
      ).toHaveLength(2),
    );

    const accepted = await invite((await me(invited)).email);
    await coOwnerSocket.next(isEvent('invitation.changed', { invitationId: accepted.id }));
    const joined = await send({
      method: 'POST',
      url: '/v1/invitations/accept',
      token: invited.token,
      payload: { token: accepted.token },
    });
    expect(joined.statusCode, joined.body).toBeLessThan(300);
    await vi.waitFor(() =>
      expect(
        coOwnerSocket.frames.filter(isEvent('invitation.changed', { invitationId: accepted.id })),
      ).toHaveLength(2),
    );
    const event = coOwnerSocket.frames.find(isEvent('invitation.changed', { invitationId: accepted.id }));
    expect(JSON.stringify(event)).not.toContain((await me(invited)).email);

    // The member and the invited person are listening (each gets the workspace's next agent), and got none of it.
    const marker = await createAgent(wid, owner);
    const isInvitation = (frame: Frame) => frame.payload.kind === 'invitation.changed';
    for (const socket of [memberSocket, invitedSocket]) {
      await neverGot(socket, isInvitation, async () => {}, isEvent('agent.changed', { agentId: marker }));
    }
    for (const socket of [coOwnerSocket, memberSocket, invitedSocket]) socket.close();
  });

  it('drops a deleted workspace from its members’ sockets', async () => {
    const owner = await signUp();
    const member = await signUp();
    const wid = await workspace([owner], [member]);
    const other = await workspace([member]);
    const socket = await signedInSocket(url, member.token);
    const deleted = await send({ method: 'DELETE', url: `/v1/workspaces/${wid}`, token: owner.token });
    expect(deleted.statusCode, deleted.body).toBe(204);
    // The member is told they left it (their app leaves the workspace), then hears nothing more of it.
    await socket.next(isEvent('member.changed', { memberId: member.id }));
    // Whatever is still announced for it (a late event from elsewhere) reaches no one.
    const late = await conversationAppended(wid, member.id);
    const marker = await createAgent(other, member);
    await neverGot(
      socket,
      isEvent('conversation.appended', { conversationId: late.conversationId }),
      async () => {},
      isEvent('agent.changed', { agentId: marker }),
    );
    socket.close();
  });
});

describe('GET /v1/realtime: the session', () => {
  it('closes the socket at once on sign-out (4403)', async () => {
    const user = await signUp();
    const socket = await signedInSocket(url, user.token);
    expect((await send({ method: 'POST', url: '/v1/auth/logout', token: user.token })).statusCode).toBe(204);
    expect((await socket.closed).code).toBe(REALTIME_CLOSE.SESSION_ENDED);
  });

  it('closes the revoked session’s sockets, not the other session’s', async () => {
    const user = await signUp();
    const wid = await workspace([user]);
    clock.advanceSeconds(1);
    const second = await signIn(user);
    const first = await signedInSocket(url, user.token);
    const other = await signedInSocket(url, second.accessToken);
    const revoked = await send({
      method: 'DELETE',
      url: `/v1/auth/sessions/${sessionOf(user.token)}`,
      token: second.accessToken,
    });
    expect(revoked.statusCode, revoked.body).toBe(204);
    expect((await first.closed).code).toBe(REALTIME_CLOSE.SESSION_ENDED);
    // The other session's socket still hears its workspace.
    const agentId = await createAgent(wid, { id: user.id, token: second.accessToken });
    await other.next(isEvent('agent.changed', { agentId }));
    other.close();
  });

  it('closes the socket at once when the password changes, except the session that changed it', async () => {
    const user = await signUp();
    const wid = await workspace([user]);
    clock.advanceSeconds(1);
    const second = await signIn(user);
    const elsewhere = await signedInSocket(url, user.token);
    const here = await signedInSocket(url, second.accessToken);
    const changed = await send({
      method: 'POST',
      url: '/v1/auth/password',
      token: second.accessToken,
      payload: { currentPassword: PASSWORD, newPassword: 'a brand new passphrase 2027' },
    });
    expect(changed.statusCode, changed.body).toBeLessThan(300);
    expect((await elsewhere.closed).code).toBe(REALTIME_CLOSE.SESSION_ENDED);
    const agentId = await createAgent(wid, { id: user.id, token: second.accessToken });
    await here.next(isEvent('agent.changed', { agentId }));
    here.close();
  });

  it('closes the socket at once when its account is deleted', async () => {
    const owner = await signUp();
    const leaver = await signUp();
    await workspace([owner], [leaver]);
    const socket = await signedInSocket(url, leaver.token);
    const deleted = await send({
      method: 'DELETE',
      url: '/v1/me',
      token: leaver.token,
      payload: { password: PASSWORD },
    });
    expect(deleted.statusCode, deleted.body).toBe(204);
    expect((await socket.closed).code).toBe(REALTIME_CLOSE.SESSION_ENDED);
  });

  it('closes the socket when its token expires without a fresh one (4401)', async () => {
    const user = await signUp();
    // Connect a moment before the token's ten minutes are up (the cloud's clock says so).
    clock.advanceMs(600_000 - 300);
    try {
      const socket = await signedInSocket(url, user.token);
      expect((await socket.closed).code).toBe(REALTIME_CLOSE.UNAUTHENTICATED);
    } finally {
      clock.advanceMs(300);
    }
  });
});
