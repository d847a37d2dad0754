import { ApiError, type SyncAck, type SyncAckEntry, type SyncBatch } from '@multiclaw/protocol';
import { advisoryXactLock, type Database, type Sql, sqlOf, sqlTransactionOpening } from '../../db/client.js';
import type { EventBus } from '../../events/event-bus.js';
import type { MessageSealer, VaultCrypto } from '../vault/contract.js';
import { isUuid, type PlannedConversation, planBatch } from './batch-plan.js';
import { TRANSCRIPT_LOCK_NAMESPACE } from './person-lock.js';
import {
  type GatewayRef,
  type HeldConversation,
  insertMessagesAndAdvance,
  type KnownBefore,
  type MessageRow,
  readKnown,
  readUnderLock,
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

type Applied = {
  tombstoned: Set<string>;
  /** The conversation stored for each accepted external id, and how far it was acked before the batch. */
  stored: Map<string, { id: string; lastSeq: number }>;
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
 *
 * Round trips (bench/sync), on node-postgres: one read and the data key's use
 * count before the transaction; then BEGIN, the person's lock, one read under
 * it, a conversation upsert only when a conversation is new or changed, one
 * statement for the messages and the acks, and COMMIT.
 */
export function createSyncApply({ db, crypto, bus, now, logger }: SyncApplyDeps) {
  /**
   * New conversations naming a `workspace` agent that is not an agent of this
   * workspace. A conversation the cloud already holds keeps the agent it was
   * accepted with (a batch never changes it), so it goes on syncing even after
   * its agent is deleted.
   */
  function refusedConversations(planned: PlannedConversation[], known: KnownBefore): Set<string> {
    return new Set(
      planned
        .filter(
          (c) =>
            c.agentSource === 'workspace' &&
            !known.heldUpTo.has(c.externalId) &&
            !known.agents.has(c.agentId),
        )
        .map((c) => c.externalId),
    );
  }

  /** The agent ids the refusal check may need: every workspace agent the batch names. */
  function candidateAgents(planned: PlannedConversation[]): string[] {
    const ids = planned
      .filter((c) => c.agentSource === 'workspace')
      .map((c) => c.agentId)
      .filter(isUuid);
    return [...new Set(ids)];
  }

  /**
   * A sealer for the messages past what the cloud held: their data-key uses
   * are counted in one statement, outside the transaction, so the data key's
   * row is not locked while the batch is written.
   */
  async function sealerFor(
    workspaceId: string,
    planned: PlannedConversation[],
    known: KnownBefore,
  ): Promise<MessageSealer | undefined> {
    let count = 0;
    for (const c of planned) {
      if (known.tombstoned.has(c.externalId)) continue;
      const held = known.heldUpTo.get(c.externalId) ?? 0;
      for (const m of c.messages) if (m.seq > held) count++;
    }
    return count === 0 ? undefined : crypto.messageSealer(db, workspaceId, count);
  }

  function sealNew(
    gateway: GatewayRef,
    planned: PlannedConversation[],
    stored: Map<string, { id: string; lastSeq: number }>,
    sealer: MessageSealer | undefined,
  ): MessageRow[] {
    const rows: MessageRow[] = [];
    for (const conversation of planned) {
      const row = stored.get(conversation.externalId);
      if (!row) continue;
      for (const message of conversation.messages) {
        // Held already: everything up to last_seq is stored, without a gap.
        if (message.seq <= row.lastSeq) continue;
        if (!sealer) throw new Error('transcripts: a message to store but no sealer');
        const sealed = sealer.seal(
          { workspaceId: gateway.workspaceId, conversationId: row.id, messageId: message.id },
          message.content,
        );
        rows.push({
          ciphertext: sealed.ciphertext,
          nonce: sealed.nonce,
          dataKeyVersion: sealed.dataKeyVersion,
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

  /** Whether the upsert can be skipped: every conversation held, from this gateway, no new title. */
  function unchanged(gateway: GatewayRef, live: PlannedConversation[], held: Map<string, HeldConversation>) {
    return live.every((c) => {
      const row = held.get(c.externalId);
      return row && row.gatewayId === gateway.id && (c.title === undefined || c.title === row.title);
    });
  }

  /** The transaction's work under the person's lock. */
  async function store(
    sql: Sql,
    gateway: GatewayRef,
    planned: PlannedConversation[],
    sealer: MessageSealer | undefined,
    at: Date,
  ): Promise<Applied> {
    const under = await readUnderLock(
      sql,
      gateway,
      planned.map((c) => c.externalId),
    );
    if (!under.active) throw revoked();
    const live = planned.filter((c) => !under.tombstoned.has(c.externalId));
    const stored = new Map<string, { id: string; lastSeq: number }>();
    if (unchanged(gateway, live, under.held)) {
      for (const c of live) {
        const row = under.held.get(c.externalId);
        if (row) stored.set(c.externalId, { id: row.id, lastSeq: row.lastSeq });
      }
    } else {
      for (const row of await upsertConversations(sql, gateway, live, at))
        stored.set(row.external_id, { id: row.id, lastSeq: row.last_seq });
    }
    const rows = sealNew(gateway, live, stored, sealer);
    const moved = await insertMessagesAndAdvance(
      sql,
      rows,
      [...stored.values()].map((row) => row.id),
      at,
    );
    const advanced = new Map(moved.map((row) => [row.external_id, { id: row.id, lastSeq: row.last_seq }]));
    return { tombstoned: under.tombstoned, stored, advanced };
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
      applied.advanced.get(conversationId)?.lastSeq ?? applied.stored.get(conversationId)?.lastSeq ?? 0;
    return { conversationId, ackedSeq: lastSeq, state: 'stored' };
  }

  return async function applyBatch(gateway: GatewayRef, batch: SyncBatch): Promise<SyncAck> {
    const planned = planBatch(batch);
    const at = now();
    // Before the transaction (no connection is held while another is awaited):
    // what is held, for the refusal check and the data key's use count.
    const known = await readKnown(
      sqlOf(db),
      gateway,
      planned.map((c) => c.externalId),
      candidateAgents(planned),
    );
    const refused = refusedConversations(planned, known);
    const accepted = planned.filter((c) => !refused.has(c.externalId));
    const sealer = await sealerFor(gateway.workspaceId, accepted, known).catch(async (error: unknown) => {
      // A workspace deleted meanwhile cannot get a data key: say why, not how it failed.
      if (!(await readUnderLock(sqlOf(db), gateway, [])).active) throw revoked();
      throw error;
    });
    let applied: Applied;
    try {
      // BEGIN and the person's lock in one round trip; what follows is read after the lock is granted.
      const lock = advisoryXactLock(
        TRANSCRIPT_LOCK_NAMESPACE,
        `${gateway.workspaceId}/${gateway.ownerUserId}`,
      );
      applied = await sqlTransactionOpening(db, lock, async (sql) => {
        return store(sql, gateway, accepted, sealer, at);
      });
    } finally {
      sealer?.release();
    }
    await announce(gateway, applied);
    return { acks: planned.map((conversation) => ackOf(conversation, refused, applied)) };
  };
}

export type ApplyBatch = ReturnType<typeof createSyncApply>;
