import { createSecretKey, randomBytes, randomUUID } from 'node:crypto';
import type { SyncConversation } from '@multiclaw/protocol';
import { describe, expect, it } from 'vitest';
import { type TestDatabaseClient, useTestDatabaseClient } from '../../../test/support/database-client.js';
import { createAuditRecorder } from '../audit/recorder.js';
import { createVaultCrypto } from '../vault/crypto.js';
import { createConversations } from './conversations.js';
import { createSyncApply } from './sync-apply.js';

/**
 * Deletions racing sync batches: a conversation's delete against a late
 * resend (whichever commits first, it never comes back once its tombstone
 * exists), and a workspace's or an account's deletion against a batch (one
 * waits for the other: no deadlock, nothing left behind).
 */

let ctx: TestDatabaseClient;
useTestDatabaseClient((ready) => {
  ctx = ready;
});

const ROUNDS = 40;
const now = () => new Date();

function services() {
  const { db } = ctx;
  const crypto = createVaultCrypto({
    masterKeys: [{ version: 1, key: createSecretKey(randomBytes(32)) }],
    now,
  });
  return {
    applyBatch: createSyncApply({ db, crypto, bus: { publish: async () => {} }, now }),
    conversations: createConversations({ db, crypto, audit: createAuditRecorder({ db, now }), now }),
  };
}

/** A person who owns a workspace, with their enrolled gateway. */
async function ownerWithGateway() {
  const { db } = ctx;
  const user = await db.user.create({ data: { email: `${randomUUID()}@example.test` } });
  const ws = await db.workspace.create({
    data: { name: 'race', memberships: { create: { userId: user.id, role: 'owner' } } },
  });
  const gateway = await db.gateway.create({
    data: { workspaceId: ws.id, ownerUserId: user.id, publicKey: new Uint8Array(randomBytes(32)) },
  });
  return { user, ws, ref: { id: gateway.id, workspaceId: ws.id, ownerUserId: user.id } };
}

const message = (seq: number) => ({
  id: randomUUID(),
  seq,
  role: 'user' as const,
  content: `m${seq}`,
  createdAt: now().toISOString(),
});

describe('deleting a conversation while its gateway resends it', () => {
  it(`never resurrects it (${ROUNDS} races)`, async () => {
    const { db } = ctx;
    const { applyBatch, conversations } = services();
    const { user, ws, ref } = await ownerWithGateway();
    const gateway = { id: ref.id };
    const membership = { workspaceId: ws.id, userId: user.id, role: 'owner' as const };

    const outcomes = { deletedFirst: 0, storedFirst: 0 };
    for (let round = 0; round < ROUNDS; round++) {
      const conv: SyncConversation = {
        conversationId: `race-${round}`,
        agentId: 'local',
        agentSource: 'local',
        messages: [message(1), message(2)],
      };
      await applyBatch(ref, { conversations: [conv] });
      const row = await db.conversation.findFirstOrThrow({
        where: { gatewayId: gateway.id, externalId: conv.conversationId },
      });
      const resend = { ...conv, messages: [...conv.messages, message(3), message(4)] };
      const [ack] = await Promise.all([
        applyBatch(ref, { conversations: [resend] }),
        // Started 0–9 ms later, so the rounds cover both orders and the interleavings between.
        new Promise((resolve) => setTimeout(resolve, round % 10)).then(() =>
          conversations.remove({ userId: user.id }, membership, row.id),
        ),
      ]);
      if (ack.acks[0]?.state === 'deleted') outcomes.deletedFirst++;
      else outcomes.storedFirst++;
      // Either order ends with the tombstone and no conversation, no messages.
      expect(
        await db.conversation.count({ where: { gatewayId: gateway.id, externalId: conv.conversationId } }),
      ).toBe(0);
      expect(await db.message.count({ where: { conversationId: row.id } })).toBe(0);
      expect(
        await db.conversationTombstone.count({
          where: { ownerUserId: ref.ownerUserId, externalId: conv.conversationId },
        }),
      ).toBe(1);
    }
    expect(outcomes.deletedFirst + outcomes.storedFirst).toBe(ROUNDS);
    console.info(`[delete-race] ${JSON.stringify(outcomes)}`);
  });
});

describe('deleting a workspace or an account while its gateway syncs', () => {
  for (const what of ['workspace', 'account'] as const) {
    it(`the ${what} deletion and the batch wait for each other, leaving nothing (${ROUNDS / 2} races)`, async () => {
      const { db } = ctx;
      const { applyBatch } = services();
      const outcomes = { stored: 0, refused: 0 };
      for (let round = 0; round < ROUNDS / 2; round++) {
        const { user, ws, ref } = await ownerWithGateway();
        const batch = {
          conversations: Array.from({ length: 5 }, (_, c) => ({
            conversationId: `c${c}`,
            agentId: 'local',
            agentSource: 'local' as const,
            messages: [1, 2, 3].map(message),
          })),
        };
        // Started 0–38 ms later, so the rounds cover both orders and the interleavings between.
        const deletion = new Promise((resolve) => setTimeout(resolve, round * 2)).then(async () => {
          if (what === 'workspace') await db.workspace.delete({ where: { id: ws.id } });
          else await db.user.delete({ where: { id: user.id } });
        });
        const [applied, deleted] = await Promise.allSettled([applyBatch(ref, batch), deletion]);
        expect(deleted.status, String((deleted as PromiseRejectedResult).reason)).toBe('fulfilled');
        if (applied.status === 'fulfilled') outcomes.stored++;
        else {
          // Deleted first: the batch finds its gateway gone and stores nothing.
          expect(applied.reason, String(applied.reason)).toMatchObject({ code: 'LINK_GATEWAY_REVOKED' });
          outcomes.refused++;
        }
        expect(await db.conversation.count({ where: { workspaceId: ws.id } })).toBe(0);
        expect(await db.conversation.count({ where: { ownerUserId: user.id } })).toBe(0);
      }
      console.info(`[delete-race] ${what}: ${JSON.stringify(outcomes)}`);
    });
  }
});
