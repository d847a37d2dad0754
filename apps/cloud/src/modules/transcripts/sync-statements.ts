import type { Transaction } from '../../db/client.js';
import type { SealedMessage } from '../vault/contract.js';
import type { PlannedConversation } from './batch-plan.js';

/**
 * The statements that apply a sync batch, each one round trip for the whole
 * batch (arrays through `unnest`, never a row per statement).
 */

export type GatewayRef = { id: string; workspaceId: string; ownerUserId: string };

/**
 * The gateway is still enrolled and its person still a member: the rows it
 * relies on stay while we write. Locked in the order account and workspace
 * deletion lock them (the person, the workspace, then what hangs below), so a
 * batch and a deletion wait for each other instead of deadlocking.
 */
export async function gatewayIsActive(
  tx: Pick<Transaction, '$queryRaw'>,
  gateway: GatewayRef,
): Promise<boolean> {
  await tx.$queryRaw`SELECT 1 FROM users WHERE id = ${gateway.ownerUserId}::uuid FOR KEY SHARE`;
  await tx.$queryRaw`SELECT 1 FROM workspaces WHERE id = ${gateway.workspaceId}::uuid FOR KEY SHARE`;
  const rows = await tx.$queryRaw<unknown[]>`
    SELECT 1 FROM gateways g
      JOIN memberships m ON m.workspace_id = g.workspace_id AND m.user_id = g.owner_user_id
     WHERE g.id = ${gateway.id}::uuid AND g.workspace_id = ${gateway.workspaceId}::uuid
       AND g.owner_user_id = ${gateway.ownerUserId}::uuid AND g.revoked_at IS NULL
       FOR KEY SHARE`;
  return rows.length > 0;
}

/** The conversations of the gateway's person in its workspace that were deleted in the cloud. */
export async function tombstonedIds(
  tx: Pick<Transaction, '$queryRaw'>,
  gateway: GatewayRef,
  externalIds: string[],
): Promise<Set<string>> {
  if (externalIds.length === 0) return new Set();
  const rows = await tx.$queryRaw<Array<{ external_id: string }>>`
    SELECT external_id FROM conversation_tombstones
     WHERE workspace_id = ${gateway.workspaceId}::uuid AND owner_user_id = ${gateway.ownerUserId}::uuid
       AND external_id = ANY(${externalIds}::text[])`;
  return new Set(rows.map((row) => row.external_id));
}

export type ConversationRow = { id: string; external_id: string; last_seq: number };

/**
 * Creates the batch's new conversations and refreshes the titles of known
 * ones. A conversation is its person's in the workspace, whichever of their
 * gateways sends it (a re-link enrolls a new gateway id): a known one
 * continues, and records the gateway it last came from.
 */
export async function upsertConversations(
  tx: Transaction,
  gateway: GatewayRef,
  conversations: PlannedConversation[],
  at: Date,
): Promise<ConversationRow[]> {
  if (conversations.length === 0) return [];
  return tx.$queryRaw<ConversationRow[]>`
    INSERT INTO conversations
           (workspace_id, gateway_id, owner_user_id, external_id, agent_id, agent_source, title, created_at, updated_at)
    SELECT ${gateway.workspaceId}::uuid, ${gateway.id}::uuid, ${gateway.ownerUserId}::uuid,
           e.external_id, e.agent_id, e.agent_source::conversation_agent_source, e.title, ${at}, ${at}
      FROM unnest(${conversations.map((c) => c.externalId)}::text[],
                  ${conversations.map((c) => c.agentId)}::text[],
                  ${conversations.map((c) => c.agentSource)}::text[],
                  ${conversations.map((c) => c.title ?? null)}::text[])
           AS e(external_id, agent_id, agent_source, title)
    ON CONFLICT (workspace_id, owner_user_id, external_id) DO UPDATE
       SET title = COALESCE(EXCLUDED.title, conversations.title),
           gateway_id = EXCLUDED.gateway_id
    RETURNING id::text, external_id, last_seq`;
}

export type MessageRow = SealedMessage & {
  id: string;
  conversationId: string;
  seq: number;
  role: string;
  status: string | null;
  createdAt: string;
};

/** One INSERT for every message; one already there (by id, or by sequence in its conversation) is skipped. */
export async function insertMessages(tx: Transaction, rows: MessageRow[], at: Date): Promise<number> {
  if (rows.length === 0) return 0;
  const base64 = (bytes: Uint8Array) =>
    Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64');
  return tx.$executeRaw`
    INSERT INTO messages (id, conversation_id, seq, role, ciphertext, nonce, data_key_version, status, created_at, received_at)
    SELECT m.id, m.conversation_id, m.seq, m.role::message_role, decode(m.ciphertext, 'base64'),
           decode(m.nonce, 'base64'), m.data_key_version, m.status, m.created_at, ${at}
      FROM unnest(${rows.map((r) => r.id)}::uuid[],
                  ${rows.map((r) => r.conversationId)}::uuid[],
                  ${rows.map((r) => r.seq)}::int4[],
                  ${rows.map((r) => r.role)}::text[],
                  ${rows.map((r) => base64(r.ciphertext))}::text[],
                  ${rows.map((r) => base64(r.nonce))}::text[],
                  ${rows.map((r) => r.dataKeyVersion)}::int4[],
                  ${rows.map((r) => r.status)}::text[],
                  ${rows.map((r) => r.createdAt)}::timestamptz[])
           AS m(id, conversation_id, seq, role, ciphertext, nonce, data_key_version, status, created_at)
    ON CONFLICT DO NOTHING`;
}

export type AdvancedRow = { id: string; external_id: string; last_seq: number };

/**
 * Moves each conversation's `last_seq` to the highest sequence held without a
 * gap from 1. Past the old `last_seq`, the i-th message in sequence order
 * continues the run exactly when its sequence is old + i; after a gap none
 * does. Returns the conversations that moved.
 */
export async function advanceContiguous(
  tx: Transaction,
  conversationIds: string[],
  at: Date,
): Promise<AdvancedRow[]> {
  if (conversationIds.length === 0) return [];
  return tx.$queryRaw<AdvancedRow[]>`
    UPDATE conversations c
       SET last_seq = c.last_seq + run.length,
           last_message_at = GREATEST(c.last_message_at, run.last_at),
           updated_at = ${at}
      FROM (SELECT ranked.conversation_id,
                   count(*) FILTER (WHERE ranked.seq = ranked.base + ranked.rank)::int4 AS length,
                   max(ranked.created_at) FILTER (WHERE ranked.seq = ranked.base + ranked.rank) AS last_at
              FROM (SELECT m.conversation_id, m.seq, m.created_at, k.last_seq AS base,
                           row_number() OVER (PARTITION BY m.conversation_id ORDER BY m.seq) AS rank
                      FROM messages m JOIN conversations k ON k.id = m.conversation_id
                     WHERE m.conversation_id = ANY(${conversationIds}::uuid[]) AND m.seq > k.last_seq) ranked
             GROUP BY ranked.conversation_id) run
     WHERE c.id = run.conversation_id AND run.length > 0
    RETURNING c.id::text, c.external_id, c.last_seq`;
}
