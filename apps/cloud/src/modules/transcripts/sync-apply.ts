import { ApiError, type SyncAck, type SyncAckEntry, type SyncBatch } from '@multiclaw/protocol';
import type { Database } from '../../db/client.js';
import type { EventBus } from '../../events/event-bus.js';
import type { MessageSealer, VaultCrypto } from '../vault/contract.js';
import { isUuid, type PlannedConversation, planBatch } from './batch-plan.js';
import { lockPersonTranscripts } from './person-lock.js';
import {
  advanceContiguous,
  type ConversationRow,
  type GatewayRef,
  gatewayIsActive,
  insertMessages,
  type MessageRow,
  tombstonedIds,
  upsertConversations,
} from './sync-statements.js';

export type SyncApplyDeps = {
  db: Database;
  crypto: Pick<VaultCrypto, 'messageSealer'>;
  bus: Pick<EventBus, 'publish'>;
  now: () => Date;
  /** Where a failed event publish is reported (the batch itself is stored and acked regardless). */
  logger?: { warn(fields: object, message: string): void } | undefined;
};

const revoked = () =>
  new ApiError(
    'LINK_GATEWAY_REVOKED',
    'This gateway was revoked, or the person who linked it is no longer a member of the workspace',
  );

type Known = { heldUpTo: Map<string, number>; tombstoned: Set<string> };

type Applied = {
  tombstoned: Set<string>;
  stored: Map<string, ConversationRow>;
  advanced: Map<string, { id: string; lastSeq: number }>;
};

/**
 * Applies one `sync.batch` from a gateway (DESIGN.md §7) and answers its
 * `sync.ack`. Exactly-once effect for an at-least-once sender: every message
 * of the batch goes in with one `INSERT … SELECT FROM unnest(…) ON CONFLICT DO
 * NOTHING`, in one transaction with the conversation upserts, so a resend
 * stores nothing twice; each conversation is acked at the highest sequence
 * held without a gap from 1, so a message that has not arrived is sent again.
 *
 * Refused without storing anything: a conversation new to the cloud whose
 * `workspace` agent is not an agent of the gateway's workspace (`refused`),
 * and one deleted in the cloud (`deleted`, its tombstone). A gateway no longer enrolled, or whose
 * person left the workspace, gets LINK_GATEWAY_REVOKED and nothing is stored.
 */
export function createSyncApply({ db, crypto, bus, now, logger }: SyncApplyDeps) {
  /** What the cloud held of the batch's conversations before it (it can only hold more by the transaction). */
  async function knownBefore(gateway: GatewayRef, planned: PlannedConversation[]): Promise<Known> {
    const externalIds = planned.map((c) => c.externalId);
    const [rows, tombstoned] = await Promise.all([
      db.conversation.findMany({
        where: {
          workspaceId: gateway.workspaceId,
          ownerUserId: gateway.ownerUserId,
          externalId: { in: externalIds },
        },
        select: { externalId: true, lastSeq: true },
      }),
      tombstonedIds(db, gateway, externalIds),
    ]);
    return { heldUpTo: new Map(rows.map((row) => [row.externalId, row.lastSeq])), tombstoned };
  }

  /**
   * New conversations naming a `workspace` agent that is not an agent of this
   * workspace. A conversation the cloud already holds keeps the agent it was
   * accepted with (a batch never changes it), so it goes on syncing even after
   * its agent is deleted.
   */
  async function refusedConversations(
    workspaceId: string,
    planned: PlannedConversation[],
    known: Known,
  ): Promise<Set<string>> {
    const checked = planned.filter((c) => c.agentSource === 'workspace' && !known.heldUpTo.has(c.externalId));
    const candidates = [...new Set(checked.map((c) => c.agentId).filter(isUuid))];
    const found =
      candidates.length === 0
        ? []
        : await db.agent.findMany({ where: { workspaceId, id: { in: candidates } }, select: { id: true } });
    const agents = new Set(found.map((agent) => agent.id));
    return new Set(checked.filter((c) => !agents.has(c.agentId)).map((c) => c.externalId));
  }

  /**
   * A sealer for the messages past what the cloud held: their data-key uses
   * are counted in one statement, outside the transaction, so the data key's
   * row is not locked while the batch is written.
   */
  async function sealerFor(
    workspaceId: string,
    planned: PlannedConversation[],
    known: Known,
  ): Promise<MessageSealer | undefined> {
    const count = planned
      .filter((c) => !known.tombstoned.has(c.externalId))
      .reduce(
        (sum, c) => sum + c.messages.filter((m) => m.seq > (known.heldUpTo.get(c.externalId) ?? 0)).length,
        0,
      );
    return count === 0 ? undefined : crypto.messageSealer(db, workspaceId, count);
  }

  function sealNew(
    gateway: GatewayRef,
    planned: PlannedConversation[],
    stored: Map<string, ConversationRow>,
    sealer: MessageSealer | undefined,
  ): MessageRow[] {
    const rows: MessageRow[] = [];
    for (const conversation of planned) {
      const row = stored.get(conversation.externalId);
      if (!row) continue;
      for (const message of conversation.messages) {
        // Held already: everything up to last_seq is stored, without a gap.
        if (message.seq <= row.last_seq) continue;
        if (!sealer) throw new Error('transcripts: a message to store but no sealer');
        const place = { workspaceId: gateway.workspaceId, conversationId: row.id, messageId: message.id };
        rows.push({
          ...sealer.seal(place, message.content),
          id: message.id,
          conversationId: row.id,
          seq: message.seq,
          role: message.role,
          status: message.status ?? null,
          createdAt: message.createdAt,
        });
      }
    }
    return rows;
  }

  async function store(
    gateway: GatewayRef,
    planned: PlannedConversation[],
    sealer: MessageSealer | undefined,
  ): Promise<Applied> {
    const at = now();
    return db.$transaction(async (tx) => {
      await lockPersonTranscripts(tx, gateway.workspaceId, gateway.ownerUserId);
      if (!(await gatewayIsActive(tx, gateway))) throw revoked();
      const tombstoned = await tombstonedIds(
        tx,
        gateway,
        planned.map((c) => c.externalId),
      );
      const live = planned.filter((c) => !tombstoned.has(c.externalId));
      const rows = await upsertConversations(tx, gateway, live, at);
      const stored = new Map(
        rows.map((row) => [row.external_id, { ...row, last_seq: Number(row.last_seq) }]),
      );
      await insertMessages(tx, sealNew(gateway, live, stored, sealer), at);
      const moved = await advanceContiguous(
        tx,
        rows.map((row) => row.id),
        at,
      );
      const advanced = new Map(
        moved.map((row) => [row.external_id, { id: row.id, lastSeq: Number(row.last_seq) }]),
      );
      return { tombstoned, stored, advanced };
    });
  }

  /** After the commit: one event per conversation that grew, for its person and the workspace's owners. */
  async function announce(gateway: GatewayRef, applied: Applied): Promise<void> {
    const at = now().toISOString();
    const results = await Promise.allSettled(
      [...applied.advanced.values()].map((conversation) =>
        bus.publish({
          type: 'realtime',
          event: {
            workspaceId: gateway.workspaceId,
            kind: 'conversation.appended',
            at,
            userId: gateway.ownerUserId,
            conversationId: conversation.id,
            lastSeq: conversation.lastSeq,
          },
        }),
      ),
    );
    for (const result of results) {
      if (result.status === 'rejected') {
        logger?.warn(
          { err: result.reason, gatewayId: gateway.id },
          'transcripts: an appended event was not published',
        );
      }
    }
  }

  function ackOf(conversation: PlannedConversation, refused: Set<string>, applied: Applied): SyncAckEntry {
    const conversationId = conversation.externalId;
    if (refused.has(conversationId)) {
      return { conversationId, ackedSeq: 0, state: 'refused', code: 'SYNC_AGENT_NOT_IN_WORKSPACE' };
    }
    if (applied.tombstoned.has(conversationId)) return { conversationId, ackedSeq: 0, state: 'deleted' };
    const lastSeq =
      applied.advanced.get(conversationId)?.lastSeq ?? applied.stored.get(conversationId)?.last_seq ?? 0;
    return { conversationId, ackedSeq: lastSeq, state: 'stored' };
  }

  return async function applyBatch(gateway: GatewayRef, batch: SyncBatch): Promise<SyncAck> {
    const planned = planBatch(batch);
    const known = await knownBefore(gateway, planned);
    const refused = await refusedConversations(gateway.workspaceId, planned, known);
    const accepted = planned.filter((c) => !refused.has(c.externalId));
    const sealer = await sealerFor(gateway.workspaceId, accepted, known).catch(async (error: unknown) => {
      // A workspace deleted meanwhile cannot get a data key: say why, not how it failed.
      if (!(await gatewayIsActive(db, gateway))) throw revoked();
      throw error;
    });
    let applied: Applied;
    try {
      applied = await store(gateway, accepted, sealer);
    } finally {
      sealer?.release();
    }
    await announce(gateway, applied);
    return { acks: planned.map((conversation) => ackOf(conversation, refused, applied)) };
  };
}

export type ApplyBatch = ReturnType<typeof createSyncApply>;
