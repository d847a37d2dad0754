import {
  ApiError,
  type ConversationListQuery,
  type ConversationSummary,
  type MessageListQuery,
  type Page,
  type TranscriptMessage,
} from '@multiclaw/protocol';
import type { Database } from '../../db/client.js';
import { decodeCursor, encodeCursor } from '../../db/keyset-page.js';
import type { Actor } from '../../plugins/actor.js';
import { type AuditEntry, type AuditTx, actorEntry } from '../audit/recorder.js';
import type { VaultCrypto } from '../vault/contract.js';
import type { Membership } from '../workspaces/access.js';
import { allows } from '../workspaces/permissions.js';
import { decryptMessages, storedMessageSelect } from './message-content.js';
import { lockPersonTranscripts } from './person-lock.js';

export type ConversationsDeps = {
  db: Database;
  crypto: Pick<VaultCrypto, 'openMessages'>;
  /** Always inside the change's transaction: no audit entry, no change. */
  audit: { record(entry: AuditEntry, tx: AuditTx): Promise<void> };
  now: () => Date;
};

const notFound = () => new ApiError('CONVERSATION_NOT_FOUND', 'No such conversation in this workspace');

const summarySelect = {
  id: true,
  agentId: true,
  agentSource: true,
  ownerUserId: true,
  gatewayId: true,
  title: true,
  lastSeq: true,
  lastMessageAt: true,
  createdAt: true,
} as const;

type SummaryRow = {
  id: string;
  agentId: string;
  agentSource: 'workspace' | 'local';
  ownerUserId: string;
  gatewayId: string | null;
  title: string | null;
  lastSeq: number;
  lastMessageAt: Date | null;
  createdAt: Date;
};

function toSummary(row: SummaryRow): ConversationSummary {
  return {
    id: row.id,
    agentId: row.agentId,
    agentSource: row.agentSource,
    userId: row.ownerUserId,
    gatewayId: row.gatewayId,
    title: row.title,
    // Readable messages are 1…lastSeq: the sync only advances it over a gap-free run.
    messageCount: row.lastSeq,
    lastMessageAt: row.lastMessageAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
  };
}

/**
 * The conversations a person may see: their own, or everyone's when their
 * role has the `_any` action. Someone else's conversation is simply not there
 * (404, never 403).
 */
function visibleTo(membership: Membership, action: 'transcripts.read_any' | 'transcripts.delete_any') {
  return {
    workspaceId: membership.workspaceId,
    ...(allows(membership.role, action) ? {} : { ownerUserId: membership.userId }),
  };
}

/** Reading and deleting synced conversations (DESIGN.md §7, §4's matrix). */
export function createConversations({ db, crypto, audit, now }: ConversationsDeps) {
  /** Newest first: keyset over (createdAt, id) descending, so paging never repeats or skips one. */
  async function list(
    membership: Membership,
    query: ConversationListQuery,
  ): Promise<Page<ConversationSummary>> {
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    const rows = await db.conversation.findMany({
      where: {
        AND: [
          visibleTo(membership, 'transcripts.read_any'),
          query.userId === undefined ? {} : { ownerUserId: query.userId },
          query.agentId === undefined ? {} : { agentId: query.agentId },
          after
            ? {
                OR: [
                  { createdAt: { lt: after.createdAt } },
                  { createdAt: after.createdAt, id: { lt: after.id } },
                ],
              }
            : {},
        ],
      },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: query.limit + 1,
      select: summarySelect,
    });
    const items = rows.slice(0, query.limit);
    const last = items.at(-1);
    return {
      items: items.map(toSummary),
      nextCursor: rows.length > query.limit && last ? encodeCursor(last) : null,
    };
  }

  /** Messages after `after`, decrypted, up to the highest sequence held without a gap. */
  async function messages(
    membership: Membership,
    conversationId: string,
    query: MessageListQuery,
  ): Promise<Page<TranscriptMessage>> {
    const conversation = await db.conversation.findFirst({
      where: { id: conversationId, ...visibleTo(membership, 'transcripts.read_any') },
      select: { lastSeq: true },
    });
    if (!conversation) throw notFound();
    // Past lastSeq a message may still be followed by a gap: a reader's `after` would skip the late one.
    const rows = await db.message.findMany({
      where: { conversationId, seq: { gt: query.after, lte: conversation.lastSeq } },
      orderBy: { seq: 'asc' },
      take: query.limit + 1,
      select: storedMessageSelect,
    });
    const page = rows.slice(0, query.limit);
    const items = await decryptMessages(crypto, db, membership.workspaceId, page);
    const last = page.at(-1);
    return { items, nextCursor: rows.length > query.limit && last ? String(last.seq) : null };
  }

  /**
   * Deletes a conversation and its messages, and leaves a tombstone for its
   * person so that a late resend, from any of their gateways, does not bring
   * it back (the gateway's own copy stays). Audited without content.
   */
  async function remove(actor: Actor, membership: Membership, conversationId: string): Promise<void> {
    const where = { id: conversationId, ...visibleTo(membership, 'transcripts.delete_any') };
    const found = await db.conversation.findFirst({ where, select: { ownerUserId: true } });
    if (!found) throw notFound();
    await db.$transaction(async (tx) => {
      // The same lock a batch from this person's gateways takes: the tombstone and the batch never interleave.
      await lockPersonTranscripts(tx, membership.workspaceId, found.ownerUserId);
      const conversation = await tx.conversation.findFirst({
        where,
        select: { gatewayId: true, externalId: true, ownerUserId: true, agentId: true, lastSeq: true },
      });
      if (!conversation) throw notFound();
      await tx.conversation.delete({ where: { id: conversationId } }); // messages go by cascade
      const key = {
        workspaceId: membership.workspaceId,
        ownerUserId: conversation.ownerUserId,
        externalId: conversation.externalId,
      };
      await tx.conversationTombstone.upsert({
        where: { workspaceId_ownerUserId_externalId: key },
        create: { ...key, deletedAt: now() },
        update: {},
      });
      await audit.record(
        actorEntry(
          actor,
          membership.workspaceId,
          'conversation.deleted',
          { type: 'conversation', id: conversationId },
          {
            userId: conversation.ownerUserId,
            agentId: conversation.agentId,
            gatewayId: conversation.gatewayId,
            messageCount: conversation.lastSeq,
          },
        ),
        tx,
      );
    });
  }

  return { list, messages, remove };
}
