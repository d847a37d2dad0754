import { createSecretKey, randomBytes, randomUUID } from 'node:crypto';
import type { ApiError, SyncBatch, SyncConversation, SyncMessage } from '@multiclaw/protocol';
import { PrismaPg } from '@prisma/adapter-pg';
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/database.js';
import type { Database } from '../../db/client.js';
import type { BusMessage } from '../../events/event-bus.js';
import { PrismaClient } from '../../generated/prisma/client.js';
import { VaultIntegrityError } from '../vault/contract.js';
import { createVaultCrypto } from '../vault/crypto.js';
import { storedMessageSelect } from './message-content.js';
import { createSyncApply } from './sync-apply.js';

/**
 * Applying sync batches against a real PostgreSQL: exactly-once effect for
 * an at-least-once sender, gap-free acks, refusals, encryption at rest, and
 * one INSERT per batch whatever its size.
 */

let database: TestDatabase;
let db: Database;
let raw: pg.Client;
/** Every SQL statement the Prisma client sent, in order. */
const statements: string[] = [];
/** What applyBatch published (a recorder, not a double: it only collects the calls). */
const published: BusMessage[] = [];
const bus = {
  async publish(message: BusMessage) {
    published.push(message);
  },
};
const masterKeys = [{ version: 1, key: createSecretKey(randomBytes(32)) }];
const now = () => new Date('2026-11-30T12:00:00.000Z');
const crypto = createVaultCrypto({ masterKeys, now });
let applyBatch: ReturnType<typeof createSyncApply>;

beforeAll(async () => {
  database = await createTestDatabase();
  const client = new PrismaClient({
    adapter: new PrismaPg({ connectionString: database.url }),
    log: [{ emit: 'event', level: 'query' }],
  });
  client.$on('query', (event) => statements.push(event.query));
  db = client as unknown as Database;
  raw = new pg.Client({ connectionString: database.url });
  await raw.connect();
  applyBatch = createSyncApply({ db, crypto, bus, now });
});

afterAll(async () => {
  await raw?.end();
  await db?.$disconnect();
  await database?.drop();
});

type Linked = { id: string; workspaceId: string; ownerUserId: string; agentId: string };

/** A workspace with a member, one workspace agent, and the member's enrolled gateway. */
async function linkedGateway(): Promise<Linked> {
  const user = await db.user.create({ data: { email: `${randomUUID()}@example.test` } });
  const ws = await db.workspace.create({
    data: { name: 'sync', memberships: { create: { userId: user.id, role: 'member' } } },
  });
  const agent = await db.agent.create({
    data: { workspaceId: ws.id, name: 'helper', provider: 'openai', model: 'gpt-4o' },
  });
  const gateway = await db.gateway.create({
    data: { workspaceId: ws.id, ownerUserId: user.id, publicKey: new Uint8Array(randomBytes(32)) },
  });
  return { id: gateway.id, workspaceId: ws.id, ownerUserId: user.id, agentId: agent.id };
}

const gatewayOf = ({ id, workspaceId, ownerUserId }: Linked) => ({ id, workspaceId, ownerUserId });

function message(seq: number, content = `message number ${seq} ${randomUUID()}`): SyncMessage {
  return {
    id: randomUUID(),
    seq,
    role: seq % 2 ? 'user' : 'assistant',
    content,
    createdAt: new Date(Date.UTC(2026, 10, 30, 11, 0, seq)).toISOString(),
    ...(seq % 2 ? {} : { status: 'complete' as const }),
  };
}

function conversation(gateway: Linked, messages: SyncMessage[], extra: Partial<SyncConversation> = {}) {
  return {
    conversationId: `conv-${randomUUID()}`,
    agentId: gateway.agentId,
    agentSource: 'workspace' as const,
    messages,
    ...extra,
  };
}

const batchOf = (...conversations: SyncConversation[]): SyncBatch => ({ conversations });

async function storedSeqs(gateway: Linked, externalId: string): Promise<number[]> {
  const rows = await db.message.findMany({
    where: { conversation: { gatewayId: gateway.id, externalId } },
    orderBy: { seq: 'asc' },
    select: { seq: true },
  });
  return rows.map((row) => row.seq);
}

async function openAll(gateway: Linked, externalId: string): Promise<string[]> {
  const rows = await db.message.findMany({
    where: { conversation: { gatewayId: gateway.id, externalId } },
    orderBy: { seq: 'asc' },
    select: storedMessageSelect,
  });
  return crypto.openMessages(db, gateway.workspaceId, rows);
}

const appended = (conversationId: string) =>
  published.filter((m) => m.type === 'realtime' && m.event.conversationId === conversationId);

describe('applyBatch', () => {
  it('stores a batch encrypted, acks each conversation, and announces each one that grew', async () => {
    const gateway = await linkedGateway();
    const first = conversation(gateway, [message(1), message(2)], { title: 'Planning' });
    const second = conversation(gateway, [message(1)], { agentId: 'my-local-agent', agentSource: 'local' });
    const ack = await applyBatch(gatewayOf(gateway), batchOf(first, second));
    expect(ack.acks).toEqual([
      { conversationId: first.conversationId, ackedSeq: 2, state: 'stored' },
      { conversationId: second.conversationId, ackedSeq: 1, state: 'stored' },
    ]);

    expect(await openAll(gateway, first.conversationId)).toEqual(first.messages.map((m) => m.content));
    const row = await db.conversation.findFirstOrThrow({
      where: { gatewayId: gateway.id, externalId: first.conversationId },
    });
    expect(row).toMatchObject({
      workspaceId: gateway.workspaceId,
      ownerUserId: gateway.ownerUserId,
      agentId: gateway.agentId,
      agentSource: 'workspace',
      title: 'Planning',
      lastSeq: 2,
      lastMessageAt: new Date(first.messages[1]?.createdAt ?? ''),
    });
    const stored = await db.message.findMany({ where: { conversationId: row.id }, orderBy: { seq: 'asc' } });
    expect(stored.map((m) => [m.id, m.role, m.status])).toEqual(
      first.messages.map((m) => [m.id, m.role, m.status ?? null]),
    );
    const local = await db.conversation.findFirstOrThrow({
      where: { gatewayId: gateway.id, externalId: second.conversationId },
    });
    expect(local).toMatchObject({ agentId: 'my-local-agent', agentSource: 'local' });

    expect(appended(row.id)).toEqual([
      {
        type: 'realtime',
        event: {
          workspaceId: gateway.workspaceId,
          kind: 'conversation.appended',
          at: now().toISOString(),
          userId: gateway.ownerUserId,
          conversationId: row.id,
          lastSeq: 2,
        },
      },
    ]);
    expect(appended(local.id)).toHaveLength(1);
  });

  it('a resend of stored messages stores nothing, acks the same and announces nothing', async () => {
    const gateway = await linkedGateway();
    const conv = conversation(gateway, [message(1), message(2), message(3)]);
    const first = await applyBatch(gatewayOf(gateway), batchOf(conv));
    const countBefore = await db.message.count();
    const publishedBefore = published.length;
    const keyUses = await usageCount(gateway.workspaceId);

    const again = await applyBatch(gatewayOf(gateway), batchOf(conv));
    expect(again).toEqual(first);
    expect(await db.message.count()).toBe(countBefore);
    expect(published.length).toBe(publishedBefore);
    // Nothing was sealed for it: the data key counted no use.
    expect(await usageCount(gateway.workspaceId)).toBe(keyUses);

    // A resend overlapping new messages stores only the new ones.
    const overlap = { ...conv, messages: [...conv.messages.slice(1), message(4), message(5)] };
    const ack = await applyBatch(gatewayOf(gateway), batchOf(overlap));
    expect(ack.acks[0]?.ackedSeq).toBe(5);
    expect(await storedSeqs(gateway, conv.conversationId)).toEqual([1, 2, 3, 4, 5]);
  });

  it('acks only up to a gap, and past it once the missing message arrives (out of order)', async () => {
    const gateway = await linkedGateway();
    const messages = [1, 2, 3, 4, 5, 6].map((seq) => message(seq));
    const conv = conversation(gateway, []);
    const send = (seqs: number[]) =>
      applyBatch(
        gatewayOf(gateway),
        batchOf({ ...conv, messages: seqs.map((seq) => messages[seq - 1] as SyncMessage) }),
      );

    expect((await send([4, 5])).acks[0]?.ackedSeq).toBe(0);
    expect((await send([1, 2, 6])).acks[0]?.ackedSeq).toBe(2);
    const row = await db.conversation.findFirstOrThrow({
      where: { gatewayId: gateway.id, externalId: conv.conversationId },
    });
    expect(appended(row.id).map((m) => m.type === 'realtime' && m.event.lastSeq)).toEqual([2]);
    expect((await send([3])).acks[0]?.ackedSeq).toBe(6);
    expect(appended(row.id).map((m) => m.type === 'realtime' && m.event.lastSeq)).toEqual([2, 6]);
    expect(await storedSeqs(gateway, conv.conversationId)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await openAll(gateway, conv.conversationId)).toEqual(messages.map((m) => m.content));
    expect(await db.conversation.findUniqueOrThrow({ where: { id: row.id } })).toMatchObject({
      lastSeq: 6,
      lastMessageAt: new Date(messages[5]?.createdAt ?? ''),
    });
  });

  it('stores a message sent twice in one batch once, and never lets a reused id take another place', async () => {
    const gateway = await linkedGateway();
    const one = message(1);
    const two = message(2);
    const conv = conversation(gateway, [one, one, two, { ...two, seq: 3 }]);
    const other = conversation(gateway, [{ ...one, seq: 1 }]);
    const ack = await applyBatch(gatewayOf(gateway), batchOf(conv, other));
    // The same message twice is one message; a known id at another sequence is not that message.
    expect(await storedSeqs(gateway, conv.conversationId)).toEqual([1, 2]);
    expect(await storedSeqs(gateway, other.conversationId)).toEqual([]);
    expect(ack.acks.map((a) => a.ackedSeq)).toEqual([2, 0]);

    // An id that exists in another workspace's conversation is skipped, not overwritten.
    const stranger = await linkedGateway();
    const stolen = conversation(stranger, [{ ...one, content: 'overwrite attempt' }]);
    const refused = await applyBatch(gatewayOf(stranger), batchOf(stolen));
    expect(refused.acks[0]?.ackedSeq).toBe(0);
    expect(await openAll(gateway, conv.conversationId)).toEqual([one.content, two.content]);
  });

  it('a conversation named twice in one batch is merged', async () => {
    const gateway = await linkedGateway();
    const conv = conversation(gateway, [message(1)]);
    const ack = await applyBatch(
      gatewayOf(gateway),
      batchOf(conv, { ...conv, title: 'Later title', messages: [message(2)] }),
    );
    // One ack per conversation.
    expect(ack.acks).toEqual([{ conversationId: conv.conversationId, ackedSeq: 2, state: 'stored' }]);
    expect(await storedSeqs(gateway, conv.conversationId)).toEqual([1, 2]);
    expect(await db.conversation.count({ where: { gatewayId: gateway.id } })).toBe(1);
  });

  it('the same batch from two callers at once is stored exactly once', async () => {
    const gateway = await linkedGateway();
    const batch = batchOf(
      ...Array.from({ length: 10 }, () =>
        conversation(
          gateway,
          [1, 2, 3, 4, 5].map((seq) => message(seq)),
        ),
      ),
    );
    const [a, b, c] = await Promise.all([
      applyBatch(gatewayOf(gateway), batch),
      applyBatch(gatewayOf(gateway), batch),
      applyBatch(gatewayOf(gateway), batch),
    ]);
    expect(a).toEqual(b);
    expect(b).toEqual(c);
    expect(a.acks.every((entry) => entry.ackedSeq === 5 && entry.state === 'stored')).toBe(true);
    expect(await db.message.count({ where: { conversation: { gatewayId: gateway.id } } })).toBe(50);
    expect(await db.conversation.count({ where: { gatewayId: gateway.id } })).toBe(10);
    const ids = (await db.conversation.findMany({ where: { gatewayId: gateway.id } })).map((row) => row.id);
    // One announcement per conversation: only the caller whose insert made it grow sends one.
    for (const id of ids) expect(appended(id)).toHaveLength(1);
  });

  it('answers deleted for a tombstoned conversation and stores nothing of it', async () => {
    const gateway = await linkedGateway();
    const gone = conversation(gateway, [message(1)]);
    const kept = conversation(gateway, [message(1)]);
    await db.conversationTombstone.create({
      data: {
        ownerUserId: gateway.ownerUserId,
        externalId: gone.conversationId,
        workspaceId: gateway.workspaceId,
      },
    });
    const ack = await applyBatch(gatewayOf(gateway), batchOf(gone, kept));
    expect(ack.acks).toEqual([
      { conversationId: gone.conversationId, ackedSeq: 0, state: 'deleted' },
      { conversationId: kept.conversationId, ackedSeq: 1, state: 'stored' },
    ]);
    expect(
      await db.conversation.count({ where: { gatewayId: gateway.id, externalId: gone.conversationId } }),
    ).toBe(0);
  });

  describe("a conversation is its person's in the workspace, whichever of their gateways sends it", () => {
    /** The same install linked again: the old gateway revoked, a new gateway id for the same person and workspace. */
    async function relinked(gateway: Linked): Promise<Linked> {
      await db.gateway.update({ where: { id: gateway.id }, data: { revokedAt: now() } });
      const again = await db.gateway.create({
        data: {
          workspaceId: gateway.workspaceId,
          ownerUserId: gateway.ownerUserId,
          publicKey: new Uint8Array(randomBytes(32)),
        },
      });
      return { ...gateway, id: again.id };
    }

    it('after a re-link, a resend stores nothing twice and what is new continues the same conversation', async () => {
      const first = await linkedGateway();
      const held = [1, 2, 3].map((seq) => message(seq));
      const conv = conversation(first, held, { title: 'kept' });
      expect((await applyBatch(gatewayOf(first), batchOf(conv))).acks[0]).toMatchObject({ ackedSeq: 3 });

      const second = await relinked(first);
      const resend = await applyBatch(
        gatewayOf(second),
        batchOf({ ...conv, messages: [...held, message(4)] }),
      );
      expect(resend.acks).toEqual([{ conversationId: conv.conversationId, ackedSeq: 4, state: 'stored' }]);
      const rows = await db.conversation.findMany({
        where: { workspaceId: first.workspaceId, externalId: conv.conversationId },
      });
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ gatewayId: second.id, lastSeq: 4, title: 'kept' });
      expect(await db.message.count({ where: { conversationId: rows[0]?.id } })).toBe(4);
      // Only what is new, after the cursor, also continues it.
      const only = await applyBatch(gatewayOf(second), batchOf({ ...conv, messages: [message(5)] }));
      expect(only.acks[0]).toMatchObject({ ackedSeq: 5, state: 'stored' });
    });

    it('a conversation deleted in the cloud stays deleted for every gateway of its person', async () => {
      const first = await linkedGateway();
      const gone = conversation(first, [message(1)]);
      await db.conversationTombstone.create({
        data: {
          ownerUserId: first.ownerUserId,
          externalId: gone.conversationId,
          workspaceId: first.workspaceId,
        },
      });
      const second = await relinked(first);
      const ack = await applyBatch(gatewayOf(second), batchOf(gone));
      expect(ack.acks).toEqual([{ conversationId: gone.conversationId, ackedSeq: 0, state: 'deleted' }]);
      expect(await db.conversation.count({ where: { externalId: gone.conversationId } })).toBe(0);
    });

    it("another person's gateway with the same conversation id gets a conversation of its own", async () => {
      const mine = await linkedGateway();
      const conv = conversation(mine, [message(1), message(2)]);
      await applyBatch(gatewayOf(mine), batchOf(conv));
      const user = await db.user.create({ data: { email: `${randomUUID()}@example.test` } });
      await db.membership.create({
        data: { workspaceId: mine.workspaceId, userId: user.id, role: 'member' },
      });
      const gateway = await db.gateway.create({
        data: {
          workspaceId: mine.workspaceId,
          ownerUserId: user.id,
          publicKey: new Uint8Array(randomBytes(32)),
        },
      });
      const theirs: Linked = { ...mine, id: gateway.id, ownerUserId: user.id };
      const ack = await applyBatch(gatewayOf(theirs), batchOf({ ...conv, messages: [message(1)] }));
      expect(ack.acks[0]).toMatchObject({ ackedSeq: 1, state: 'stored' });
      const rows = await db.conversation.findMany({
        where: { externalId: conv.conversationId },
        orderBy: { lastSeq: 'desc' },
      });
      expect(rows.map((row) => [row.ownerUserId, row.lastSeq])).toEqual([
        [mine.ownerUserId, 2],
        [user.id, 1],
      ]);
    });
  });

  it("refuses a workspace agent that is not the gateway's workspace's, storing nothing of it", async () => {
    const gateway = await linkedGateway();
    const foreign = await linkedGateway();
    const theirs = conversation(gateway, [message(1)], { agentId: foreign.agentId });
    const made_up = conversation(gateway, [message(1)], { agentId: 'not-a-uuid' });
    const unknown = conversation(gateway, [message(1)], { agentId: randomUUID() });
    const fine = conversation(gateway, [message(1)], { agentId: gateway.agentId.toUpperCase() });
    const ack = await applyBatch(gatewayOf(gateway), batchOf(theirs, made_up, unknown, fine));
    const refused = { ackedSeq: 0, state: 'refused', code: 'SYNC_AGENT_NOT_IN_WORKSPACE' };
    expect(ack.acks).toEqual([
      { conversationId: theirs.conversationId, ...refused },
      { conversationId: made_up.conversationId, ...refused },
      { conversationId: unknown.conversationId, ...refused },
      { conversationId: fine.conversationId, ackedSeq: 1, state: 'stored' },
    ]);
    const stored = await db.conversation.findMany({ where: { gatewayId: gateway.id } });
    // The one accepted, under its one spelling.
    expect(stored.map((row) => [row.externalId, row.agentId])).toEqual([
      [fine.conversationId, gateway.agentId],
    ]);
  });

  it('a conversation already held keeps syncing after its workspace agent is deleted; a new one is refused', async () => {
    const gateway = await linkedGateway();
    const held = conversation(gateway, [message(1)]);
    await applyBatch(gatewayOf(gateway), batchOf(held));
    await db.agent.delete({ where: { id: gateway.agentId } });
    const fresh = conversation(gateway, [message(1)]);
    const ack = await applyBatch(gatewayOf(gateway), batchOf({ ...held, messages: [message(2)] }, fresh));
    expect(ack.acks).toEqual([
      { conversationId: held.conversationId, ackedSeq: 2, state: 'stored' },
      {
        conversationId: fresh.conversationId,
        ackedSeq: 0,
        state: 'refused',
        code: 'SYNC_AGENT_NOT_IN_WORKSPACE',
      },
    ]);
    // A later batch cannot re-attribute a held conversation to another agent.
    const foreign = await linkedGateway();
    await applyBatch(
      gatewayOf(gateway),
      batchOf({ ...held, agentId: foreign.agentId, messages: [message(3)] }),
    );
    const row = await db.conversation.findFirstOrThrow({
      where: { gatewayId: gateway.id, externalId: held.conversationId },
    });
    expect(row).toMatchObject({ agentId: gateway.agentId, lastSeq: 3 });
  });

  it('refuses a revoked gateway, or one whose person left, storing nothing', async () => {
    const revoked = await linkedGateway();
    await db.gateway.update({ where: { id: revoked.id }, data: { revokedAt: now() } });
    await expect(
      applyBatch(gatewayOf(revoked), batchOf(conversation(revoked, [message(1)]))),
    ).rejects.toMatchObject({ code: 'LINK_GATEWAY_REVOKED' } satisfies Partial<ApiError>);

    const departed = await linkedGateway();
    await db.membership.deleteMany({ where: { workspaceId: departed.workspaceId } });
    await expect(
      applyBatch(gatewayOf(departed), batchOf(conversation(departed, [message(1)]))),
    ).rejects.toMatchObject({ code: 'LINK_GATEWAY_REVOKED' });

    // The gateway's claimed workspace must be its own.
    const other = await linkedGateway();
    await expect(
      applyBatch(
        { ...gatewayOf(other), workspaceId: revoked.workspaceId },
        batchOf(conversation(other, [message(1)])),
      ),
    ).rejects.toMatchObject({ code: 'LINK_GATEWAY_REVOKED' });
    for (const g of [revoked, departed, other]) {
      expect(await db.conversation.count({ where: { gatewayId: g.id } })).toBe(0);
    }
  });
});

async function usageCount(workspaceId: string): Promise<number> {
  const keys = await db.workspaceDataKey.findMany({ where: { workspaceId } });
  return keys.reduce((sum, key) => sum + key.usageCount, 0);
}

describe('encryption at rest', () => {
  it('a dump of the messages table holds no conversation text', async () => {
    const gateway = await linkedGateway();
    const marker = `the quarterly numbers are ${randomUUID()}`;
    const conv = conversation(gateway, [message(1, marker), message(2, `ünïcödé ${marker} 🦀`)], {
      title: 'A title is metadata, stored as given',
    });
    await applyBatch(gatewayOf(gateway), batchOf(conv));
    const dump = await raw.query('SELECT * FROM messages');
    const asText = JSON.stringify(dump.rows, (_key, value) =>
      Buffer.isBuffer(value)
        ? `${value.toString('utf8')}|${value.toString('hex')}|${value.toString('base64')}`
        : value,
    );
    expect(asText).toContain(conv.messages[0]?.id); // the dump is of the right rows
    expect(asText).not.toContain(marker);
    expect(asText).not.toContain(Buffer.from(marker).toString('hex'));
    expect(asText).not.toContain(Buffer.from(marker).toString('base64').slice(0, 24));
  });

  it('counts the data key uses of a batch in one statement: one per new message', async () => {
    const gateway = await linkedGateway();
    const before = await usageCount(gateway.workspaceId);
    statements.length = 0;
    await applyBatch(
      gatewayOf(gateway),
      batchOf(
        conversation(
          gateway,
          [1, 2, 3, 4, 5, 6, 7].map((seq) => message(seq)),
        ),
      ),
    );
    // The workspace's first key is created with the batch's uses already counted.
    expect((await usageCount(gateway.workspaceId)) - before).toBe(7);
    statements.length = 0;
    await applyBatch(
      gatewayOf(gateway),
      batchOf(
        conversation(
          gateway,
          [1, 2, 3].map((seq) => message(seq)),
        ),
      ),
    );
    expect(statements.filter((sql) => /UPDATE\s+workspace_data_keys/i.test(sql))).toHaveLength(1);
    expect((await usageCount(gateway.workspaceId)) - before).toBe(10);
  });

  describe('a ciphertext moved to another place does not decrypt', () => {
    async function twoStored() {
      const gateway = await linkedGateway();
      const a = conversation(gateway, [message(1, 'alpha secret plan'), message(2, 'beta')]);
      const b = conversation(gateway, [message(1, 'gamma')]);
      await applyBatch(gatewayOf(gateway), batchOf(a, b));
      const rows = await db.message.findMany({
        where: { conversation: { gatewayId: gateway.id } },
        select: { ...storedMessageSelect, conversation: { select: { externalId: true } } },
      });
      const find = (externalId: string, seq: number) => {
        const row = rows.find((r) => r.conversation.externalId === externalId && r.seq === seq);
        if (!row) throw new Error('row not found');
        return row;
      };
      return {
        gateway,
        a1: find(a.conversationId, 1),
        a2: find(a.conversationId, 2),
        b1: find(b.conversationId, 1),
      };
    }

    async function expectRefused(promise: Promise<unknown>) {
      const error = await promise.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(VaultIntegrityError);
      expect(String((error as Error).message)).not.toContain('alpha');
    }

    it('to another row of the same conversation', async () => {
      const { gateway, a1, a2 } = await twoStored();
      await db.message.update({
        where: { id: a2.id },
        data: { ciphertext: a1.ciphertext, nonce: a1.nonce, dataKeyVersion: a1.dataKeyVersion },
      });
      const row = await db.message.findUniqueOrThrow({ where: { id: a2.id }, select: storedMessageSelect });
      await expectRefused(crypto.openMessages(db, gateway.workspaceId, [row]));
      // The untouched original still opens: the refusal is about the place.
      expect(await crypto.openMessages(db, gateway.workspaceId, [a1])).toEqual(['alpha secret plan']);
    });

    it('to another conversation, under the same message id', async () => {
      const { gateway, a1, b1 } = await twoStored();
      await expectRefused(
        crypto.openMessages(db, gateway.workspaceId, [{ ...a1, conversationId: b1.conversationId }]),
      );
    });

    it('to another workspace', async () => {
      const { a1 } = await twoStored();
      const elsewhere = await linkedGateway();
      // Give the other workspace a data key of the same version, so only the binding differs.
      await applyBatch(gatewayOf(elsewhere), batchOf(conversation(elsewhere, [message(1)])));
      await expectRefused(crypto.openMessages(db, elsewhere.workspaceId, [a1]));
    });

    it('with a flipped bit, or a changed data key version', async () => {
      const { gateway, a1 } = await twoStored();
      const flipped = new Uint8Array(a1.ciphertext);
      flipped[0] = (flipped[0] ?? 0) ^ 1;
      await expectRefused(crypto.openMessages(db, gateway.workspaceId, [{ ...a1, ciphertext: flipped }]));
      await expectRefused(crypto.openMessages(db, gateway.workspaceId, [{ ...a1, dataKeyVersion: 2 }]));
    });

    it("a secret's ciphertext does not open as a message", async () => {
      const { gateway, a1 } = await twoStored();
      const sealed = await crypto.seal(
        db,
        { workspaceId: gateway.workspaceId, secretId: a1.id },
        'alpha secret',
      );
      await expectRefused(crypto.openMessages(db, gateway.workspaceId, [{ ...a1, ...sealed }]));
    });
  });
});

describe('acks under any delivery order', () => {
  it('whatever arrives in whatever batches, duplicated or not, the ack is the highest gap-free sequence', async () => {
    const gateway = await linkedGateway();
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 12 }),
        // Each delivery: a subset of the sequences (in any order, possibly repeated).
        fc.array(fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 8 }), {
          minLength: 1,
          maxLength: 6,
        }),
        async (length, deliveries) => {
          const messages = Array.from({ length }, (_, i) => message(i + 1));
          const conv = conversation(gateway, []);
          const held = new Set<number>();
          let lastAck = 0;
          for (const seqs of deliveries) {
            const sent = seqs.filter((seq) => seq <= length).map((seq) => messages[seq - 1] as SyncMessage);
            if (sent.length === 0) continue;
            const ack = await applyBatch(gatewayOf(gateway), batchOf({ ...conv, messages: sent }));
            for (const m of sent) held.add(m.seq);
            let expected = 0;
            while (held.has(expected + 1)) expected++;
            expect(ack.acks).toEqual([
              { conversationId: conv.conversationId, ackedSeq: expected, state: 'stored' },
            ]);
            expect(expected).toBeGreaterThanOrEqual(lastAck);
            lastAck = expected;
          }
          // Exactly what was sent, once each, and readable.
          expect(await storedSeqs(gateway, conv.conversationId)).toEqual([...held].sort((a, b) => a - b));
          const contents = await openAll(gateway, conv.conversationId);
          expect(contents).toEqual([...held].sort((a, b) => a - b).map((seq) => messages[seq - 1]?.content));
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('one statement per batch', () => {
  it('inserts every message of a batch with one INSERT, whatever its size', async () => {
    const gateway = await linkedGateway();
    // The workspace's first batch also creates its data key: not part of the comparison.
    await applyBatch(gatewayOf(gateway), batchOf(conversation(gateway, [message(1)])));
    const countFor = async (conversations: number, perConversation: number) => {
      statements.length = 0;
      const batch = batchOf(
        ...Array.from({ length: conversations }, () =>
          conversation(
            gateway,
            Array.from({ length: perConversation }, (_, i) => message(i + 1)),
          ),
        ),
      );
      await applyBatch(gatewayOf(gateway), batch);
      return {
        total: statements.length,
        inserts: statements.filter((sql) => /INSERT\s+INTO\s+messages/i.test(sql)).length,
      };
    };
    const small = await countFor(1, 2);
    const large = await countFor(50, 10);
    expect(small.inserts).toBe(1);
    expect(large.inserts).toBe(1);
    // 500 messages in 50 conversations take no more round trips than 2 in one.
    expect(large.total).toBe(small.total);
  });

  it('applies 5,000 messages in batches of 500', async () => {
    const gateway = await linkedGateway();
    const conversations = Array.from({ length: 100 }, () =>
      conversation(
        gateway,
        Array.from({ length: 50 }, (_, i) =>
          message(i + 1, `line ${i + 1}: ${randomBytes(120).toString('base64')}`),
        ),
      ),
    );
    const started = performance.now();
    for (let i = 0; i < conversations.length; i += 10) {
      const ack = await applyBatch(gatewayOf(gateway), batchOf(...conversations.slice(i, i + 10)));
      expect(ack.acks.every((entry) => entry.ackedSeq === 50)).toBe(true);
    }
    const elapsed = performance.now() - started;
    expect(await db.message.count({ where: { conversation: { gatewayId: gateway.id } } })).toBe(5000);
    // A figure for the report, not an assertion (tests never assert timings).
    console.info(
      `[sync-apply] 5000 messages (~190 B each) in 10 batches: ${elapsed.toFixed(0)} ms, ${(5000 / (elapsed / 1000)).toFixed(0)} messages/s`,
    );
  });
});
