import { createSecretKey, randomBytes, randomUUID } from 'node:crypto';
import {
  ConversationSummary,
  ErrorEnvelope,
  Page,
  type SyncConversation,
  type SyncMessage,
  TranscriptMessage,
} from '@multiclaw/protocol';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestUser, testActors } from '../../../test/support/actors.js';
import { createTestApp } from '../../../test/support/app.js';
import type { BusMessage } from '../../events/event-bus.js';
import { createVaultCrypto } from '../vault/crypto.js';
import { createSyncApply } from './sync-apply.js';

const PASSWORD = 'transcripts api passphrase 7';
const MASTER_KEY = randomBytes(32);
let tick = Date.parse('2026-11-30T12:00:00Z');
/** Each call a second later: conversations get distinct creation times. */
const now = () => {
  tick += 1000;
  return new Date(tick);
};

let ctx: Awaited<ReturnType<typeof createTestApp>>;
let applyBatch: ReturnType<typeof createSyncApply>;

beforeAll(async () => {
  ctx = await createTestApp({
    now,
    env: { AUTH_RATE_LIMIT_MAX: '10000', MULTICLAW_MASTER_KEYS: `1:${MASTER_KEY.toString('base64')}` },
  });
  // The gateway link's entry point, on the app's database and master key (the link itself is tested elsewhere).
  applyBatch = createSyncApply({
    db: ctx.app.db,
    crypto: createVaultCrypto({ masterKeys: [{ version: 1, key: createSecretKey(MASTER_KEY) }], now }),
    bus: { publish: async (_message: BusMessage) => {} },
    now,
  });
});
afterAll(async () => {
  await ctx?.close();
});

const { send, signUp, workspace } = testActors(() => ctx, {
  address: '203.0.113.77',
  userAgent: 'transcripts-test/1.0',
  password: PASSWORD,
});

type Person = TestUser & { gatewayId: string };

async function team() {
  const [ownerUser, memberUser] = await Promise.all([signUp(), signUp()]);
  const wid = await workspace([ownerUser], [memberUser]);
  const agent = await ctx.app.db.agent.create({
    data: { workspaceId: wid, name: 'helper', provider: 'openai', model: 'gpt-4o' },
  });
  const withGateway = async (user: TestUser): Promise<Person> => {
    const gateway = await ctx.app.db.gateway.create({
      data: { workspaceId: wid, ownerUserId: user.id, publicKey: new Uint8Array(randomBytes(32)) },
    });
    return { ...user, gatewayId: gateway.id };
  };
  return {
    wid,
    agentId: agent.id,
    owner: await withGateway(ownerUser),
    member: await withGateway(memberUser),
  };
}

function messages(count: number, label = 'line'): SyncMessage[] {
  return Array.from({ length: count }, (_, i) => ({
    id: randomUUID(),
    seq: i + 1,
    role: i % 2 ? ('assistant' as const) : ('user' as const),
    content: `${label} ${i + 1}`,
    createdAt: new Date(Date.UTC(2026, 10, 30, 10, 0, i)).toISOString(),
    ...(i % 2 ? { status: 'complete' as const } : {}),
  }));
}

/** Syncs one conversation from a person's gateway; returns its cloud id. */
async function synced(
  wid: string,
  person: Person,
  conversation: Partial<SyncConversation> & { agentId: string },
): Promise<{ id: string; externalId: string; messages: SyncMessage[] }> {
  const full = {
    conversationId: `c-${randomUUID()}`,
    agentSource: 'workspace' as const,
    messages: messages(3),
    ...conversation,
  };
  const ack = await applyBatch(
    { id: person.gatewayId, workspaceId: wid, ownerUserId: person.id },
    { conversations: [full] },
  );
  expect(ack.acks[0]?.state).toBe('stored');
  const row = await ctx.app.db.conversation.findFirstOrThrow({
    where: { gatewayId: person.gatewayId, externalId: full.conversationId },
  });
  return { id: row.id, externalId: full.conversationId, messages: full.messages };
}

const list = (wid: string, user: TestUser, query = '') =>
  send({ method: 'GET', url: `/v1/workspaces/${wid}/conversations${query}`, token: user.token });
const read = (wid: string, cid: string, user: TestUser, query = '') =>
  send({
    method: 'GET',
    url: `/v1/workspaces/${wid}/conversations/${cid}/messages${query}`,
    token: user.token,
  });
const remove = (wid: string, cid: string, user: TestUser) =>
  send({ method: 'DELETE', url: `/v1/workspaces/${wid}/conversations/${cid}`, token: user.token });

const ConversationPage = Page(ConversationSummary);
const MessagePage = Page(TranscriptMessage);
const codeOf = (response: LightMyRequestResponse) => ErrorEnvelope.parse(response.json()).error.code;

async function ids(wid: string, user: TestUser, query = '') {
  const response = await list(wid, user, query);
  expect(response.statusCode, response.body).toBe(200);
  return ConversationPage.parse(response.json()).items.map((item) => item.id);
}

describe('GET /v1/workspaces/:wid/conversations', () => {
  it("lists a member's own conversations and every conversation for an owner, newest first", async () => {
    const { wid, agentId, owner, member } = await team();
    const mine = await synced(wid, member, { agentId, title: 'Mine' });
    const theirs = await synced(wid, owner, { agentId });
    const local = await synced(wid, member, { agentId: 'local-notes', agentSource: 'local' });

    expect(await ids(wid, member)).toEqual([local.id, mine.id]);
    expect(await ids(wid, owner)).toEqual([local.id, theirs.id, mine.id]);

    const response = await list(wid, member);
    const item = ConversationPage.parse(response.json()).items.find((i) => i.id === mine.id);
    expect(item).toEqual({
      id: mine.id,
      agentId,
      agentSource: 'workspace',
      userId: member.id,
      gatewayId: member.gatewayId,
      title: 'Mine',
      messageCount: 3,
      lastMessageAt: mine.messages[2]?.createdAt,
      createdAt: expect.any(String),
    });
  });

  it('filters by agent and by person; a member asking for another person gets nothing', async () => {
    const { wid, agentId, owner, member } = await team();
    const a = await synced(wid, member, { agentId });
    const b = await synced(wid, member, { agentId: 'local-notes', agentSource: 'local' });
    const c = await synced(wid, owner, { agentId });
    expect(await ids(wid, owner, `?agentId=${agentId}`)).toEqual([c.id, a.id]);
    expect(await ids(wid, owner, '?agentId=local-notes')).toEqual([b.id]);
    expect(await ids(wid, owner, `?userId=${member.id}`)).toEqual([b.id, a.id]);
    expect(await ids(wid, member, `?userId=${owner.id}`)).toEqual([]);
    expect(await ids(wid, member, `?userId=${member.id}&agentId=${agentId}`)).toEqual([a.id]);
  });

  it('pages with an opaque cursor, without duplicates or gaps', async () => {
    const { wid, agentId, member } = await team();
    const made: string[] = [];
    for (let i = 0; i < 5; i++)
      made.unshift((await synced(wid, member, { agentId, messages: messages(1) })).id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const response = await list(
        wid,
        member,
        `?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      const page = ConversationPage.parse(response.json());
      seen.push(...page.items.map((i) => i.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(made);
    const bad = await list(wid, member, '?cursor=garbage');
    expect(bad.statusCode).toBe(400);
    expect(codeOf(bad)).toBe('VALIDATION_FAILED');
  });
});

describe('GET …/conversations/:cid/messages', () => {
  it('returns the messages decrypted, in order, paged by sequence', async () => {
    const { wid, agentId, member } = await team();
    const conv = await synced(wid, member, { agentId, messages: messages(5, 'déjà vu 🦀') });
    const first = await read(wid, conv.id, member, '?limit=2');
    expect(first.statusCode, first.body).toBe(200);
    expect(first.headers['cache-control']).toBe('private, no-store');
    const page = MessagePage.parse(first.json());
    expect(page.items).toEqual(
      conv.messages.slice(0, 2).map(({ id, seq, role, content, createdAt, status }) => ({
        id,
        seq,
        role,
        content,
        createdAt,
        ...(status ? { status } : {}),
      })),
    );
    expect(page.nextCursor).toBe('2');
    const rest = MessagePage.parse((await read(wid, conv.id, member, '?after=2&limit=10')).json());
    expect(rest.items.map((m) => m.content)).toEqual(['déjà vu 🦀 3', 'déjà vu 🦀 4', 'déjà vu 🦀 5']);
    expect(rest.nextCursor).toBeNull();
  });

  it('shows nothing past a gap, so a reader paging by sequence never skips a late message', async () => {
    const { wid, agentId, member } = await team();
    const all = messages(4);
    const conv = await synced(wid, member, { agentId, messages: [all[0], all[1], all[3]] as SyncMessage[] });
    const before = MessagePage.parse((await read(wid, conv.id, member)).json());
    expect(before.items.map((m) => m.seq)).toEqual([1, 2]);
    await applyBatch(
      { id: member.gatewayId, workspaceId: wid, ownerUserId: member.id },
      {
        conversations: [
          {
            conversationId: conv.externalId,
            agentId,
            agentSource: 'workspace',
            messages: [all[2] as SyncMessage],
          },
        ],
      },
    );
    const after = MessagePage.parse((await read(wid, conv.id, member, '?after=2')).json());
    expect(after.items.map((m) => m.seq)).toEqual([3, 4]);
  });

  it("is a 404 for another member's conversation and for one of another workspace, for an owner too", async () => {
    const { wid, agentId, owner, member } = await team();
    const ownersOwn = await synced(wid, owner, { agentId });
    const membersOwn = await synced(wid, member, { agentId });
    const other = await team();
    const elsewhere = await synced(other.wid, other.member, { agentId: other.agentId });

    const hidden = await read(wid, ownersOwn.id, member);
    expect(hidden.statusCode).toBe(404);
    expect(codeOf(hidden)).toBe('CONVERSATION_NOT_FOUND');
    // Indistinguishable from one that does not exist.
    const missing = await read(wid, randomUUID(), member);
    expect(missing.statusCode).toBe(404);
    expect(missing.body.replace(/"requestId":"[^"]*"/, '')).toBe(
      hidden.body.replace(/"requestId":"[^"]*"/, ''),
    );
    // The owner reads the member's, but not another workspace's through this one.
    expect((await read(wid, membersOwn.id, owner)).statusCode).toBe(200);
    expect((await read(wid, elsewhere.id, owner)).statusCode).toBe(404);
    expect(await ids(wid, owner)).not.toContain(elsewhere.id);
  });
});

describe('DELETE …/conversations/:cid', () => {
  it('deletes the messages, leaves a tombstone a late resend respects, and audits without content', async () => {
    const { wid, agentId, member } = await team();
    const conv = await synced(wid, member, { agentId, messages: messages(2, 'confidential') });
    const response = await remove(wid, conv.id, member);
    expect(response.statusCode, response.body).toBe(204);

    expect(await ctx.app.db.conversation.count({ where: { id: conv.id } })).toBe(0);
    expect(await ctx.app.db.message.count({ where: { conversationId: conv.id } })).toBe(0);
    expect(
      await ctx.app.db.conversationTombstone.findUnique({
        where: {
          workspaceId_ownerUserId_externalId: {
            workspaceId: wid,
            ownerUserId: member.id,
            externalId: conv.externalId,
          },
        },
      }),
    ).toMatchObject({ workspaceId: wid });

    const resend = await applyBatch(
      { id: member.gatewayId, workspaceId: wid, ownerUserId: member.id },
      {
        conversations: [
          { conversationId: conv.externalId, agentId, agentSource: 'workspace', messages: conv.messages },
        ],
      },
    );
    expect(resend.acks).toEqual([{ conversationId: conv.externalId, ackedSeq: 0, state: 'deleted' }]);
    expect(await ctx.app.db.conversation.count({ where: { gatewayId: member.gatewayId } })).toBe(0);

    const audited = await ctx.app.db.auditEvent.findMany({
      where: { workspaceId: wid, action: 'conversation.deleted' },
    });
    expect(audited).toHaveLength(1);
    expect(audited[0]).toMatchObject({ actorId: member.id, targetType: 'conversation', targetId: conv.id });
    expect(JSON.stringify(audited[0]?.metadata)).not.toContain('confidential');

    // Gone is gone: a second delete is a 404.
    expect((await remove(wid, conv.id, member)).statusCode).toBe(404);
  });

  it("a member cannot delete another's conversation (404); an owner can", async () => {
    const { wid, agentId, owner, member } = await team();
    const ownersOwn = await synced(wid, owner, { agentId });
    const membersOwn = await synced(wid, member, { agentId });
    const refused = await remove(wid, ownersOwn.id, member);
    expect(refused.statusCode).toBe(404);
    expect(codeOf(refused)).toBe('CONVERSATION_NOT_FOUND');
    expect(await ctx.app.db.conversation.count({ where: { id: ownersOwn.id } })).toBe(1);
    expect((await remove(wid, membersOwn.id, owner)).statusCode).toBe(204);
    expect(await ctx.app.db.message.count({ where: { conversationId: membersOwn.id } })).toBe(0);
  });
});

describe('transcripts and the people they belong to', () => {
  it("the personal data export holds the person's own conversations as text, not another's", async () => {
    const { wid, agentId, owner, member } = await team();
    await synced(wid, member, { agentId, messages: messages(2, 'my exported words') });
    await synced(wid, owner, { agentId, messages: messages(1, 'the owner words') });
    const response = await send({ method: 'GET', url: '/v1/me/export', token: member.token });
    expect(response.statusCode).toBe(200);
    const data = response.json();
    expect(data.conversations).toHaveLength(1);
    expect(data.conversations[0].messages.map((m: { content: string }) => m.content)).toEqual([
      'my exported words 1',
      'my exported words 2',
    ]);
    expect(data.conversations[0]).toMatchObject({ workspaceId: wid, agentId });
    expect(response.body).not.toContain('the owner words');
    expect(response.body).not.toContain('ciphertext');
  });

  it('deleting a workspace deletes its transcripts, and nothing of another workspace', async () => {
    const { wid, agentId, owner, member } = await team();
    const conv = await synced(wid, member, { agentId });
    const other = await team();
    const kept = await synced(other.wid, other.member, { agentId: other.agentId });
    const response = await send({ method: 'DELETE', url: `/v1/workspaces/${wid}`, token: owner.token });
    expect(response.statusCode, response.body).toBe(204);
    expect(await ctx.app.db.conversation.count({ where: { workspaceId: wid } })).toBe(0);
    expect(await ctx.app.db.message.count({ where: { conversationId: conv.id } })).toBe(0);
    expect(await ctx.app.db.conversationTombstone.count({ where: { workspaceId: wid } })).toBe(0);
    expect(await ctx.app.db.message.count({ where: { conversationId: kept.id } })).toBe(3);
  });

  it("deleting an account deletes that person's transcripts, not the workspace's others", async () => {
    const { wid, agentId, owner, member } = await team();
    const mine = await synced(wid, member, { agentId });
    const theirs = await synced(wid, owner, { agentId });
    const response = await send({
      method: 'DELETE',
      url: '/v1/me',
      token: member.token,
      payload: { password: PASSWORD },
    });
    expect(response.statusCode, response.body).toBe(204);
    expect(await ctx.app.db.conversation.count({ where: { id: mine.id } })).toBe(0);
    expect(await ctx.app.db.message.count({ where: { conversationId: mine.id } })).toBe(0);
    expect(await ctx.app.db.message.count({ where: { conversationId: theirs.id } })).toBe(3);
  });
});
