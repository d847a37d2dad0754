import type { Sql } from '../../db/client.js';
import type { SealedMessage } from '../vault/contract.js';
import type { PlannedConversation } from './batch-plan.js';

/**
 * The statements that apply a sync batch, on node-postgres (`sqlOf` /
 * `sqlTransaction`: Prisma's own cost per statement was most of a batch's
 * CPU, bench/README.md). Each is one round trip for the whole batch (arrays
 * through `unnest`, never a row per statement); a batch's transaction is the
 * person's lock (sent with BEGIN, sync-apply.ts), one read, at most one conversation upsert, and one statement
 * that inserts the messages and moves the acks.
 */

export type GatewayRef = { id: string; workspaceId: string; ownerUserId: string };

/** What the cloud held of a batch's conversations, read before its transaction (no lock). */
export type KnownBefore = {
  heldUpTo: Map<string, number>;
  tombstoned: Set<string>;
  /** Which of the asked-for agent ids are agents of the gateway's workspace. */
  agents: Set<string>;
};

/**
 * One statement: the batch's conversations the person already has (and how
 * far), its tombstones, and which of `agentIds` are agents of the workspace.
 */
export async function readKnown(
  sql: Sql,
  gateway: GatewayRef,
  externalIds: string[],
  agentIds: string[],
): Promise<KnownBefore> {
  const { rows } = await sql.query<{ held: [string, number][]; tombstoned: string[]; agents: string[] }>(
    `SELECT
       (SELECT coalesce(json_agg(json_build_array(c.external_id, c.last_seq)), '[]'::json)
          FROM conversations c
         WHERE c.workspace_id = $1::uuid AND c.owner_user_id = $2::uuid AND c.external_id = ANY($3::text[])) AS held,
       (SELECT coalesce(array_agg(t.external_id), '{}'::text[])
          FROM conversation_tombstones t
         WHERE t.workspace_id = $1::uuid AND t.owner_user_id = $2::uuid AND t.external_id = ANY($3::text[])) AS tombstoned,
       (SELECT coalesce(array_agg(a.id::text), '{}'::text[])
          FROM agents a WHERE a.workspace_id = $1::uuid AND a.id = ANY($4::uuid[])) AS agents`,
    [gateway.workspaceId, gateway.ownerUserId, externalIds, agentIds],
  );
  const row = rows[0];
  return {
    heldUpTo: new Map((row?.held ?? []).map(([externalId, lastSeq]) => [externalId, Number(lastSeq)])),
    tombstoned: new Set(row?.tombstoned ?? []),
    agents: new Set(row?.agents ?? []),
  };
}

export type HeldConversation = {
  id: string;
  lastSeq: number;
  title: string | null;
  gatewayId: string | null;
};

export type UnderLock = {
  /**
   * The gateway is still enrolled and its person still a member: the rows it
   * relies on (person, workspace, gateway, membership) are locked FOR KEY
   * SHARE, in the order account and workspace deletion lock them (the person,
   * the workspace, then what hangs below), so a batch and a deletion wait for
   * each other instead of deadlocking.
   */
  active: boolean;
  tombstoned: Set<string>;
  held: Map<string, HeldConversation>;
};

/** Under the person's lock, one statement: the gateway is active, the tombstones, the conversations held. */
export async function readUnderLock(
  sql: Sql,
  gateway: GatewayRef,
  externalIds: string[],
): Promise<UnderLock> {
  const { rows } = await sql.query<{
    active: boolean;
    tombstoned: string[];
    held: {
      id: string;
      external_id: string;
      last_seq: number;
      title: string | null;
      gateway_id: string | null;
    }[];
  }>(
    `WITH active AS (
       SELECT 1 FROM users u, workspaces w, gateways g, memberships m
        WHERE u.id = $2::uuid AND w.id = $1::uuid
          AND g.id = $3::uuid AND g.workspace_id = w.id AND g.owner_user_id = u.id AND g.revoked_at IS NULL
          AND m.workspace_id = w.id AND m.user_id = u.id
          FOR KEY SHARE)
     SELECT EXISTS (SELECT 1 FROM active) AS active,
       (SELECT coalesce(array_agg(t.external_id), '{}'::text[])
          FROM conversation_tombstones t
         WHERE t.workspace_id = $1::uuid AND t.owner_user_id = $2::uuid AND t.external_id = ANY($4::text[])) AS tombstoned,
       (SELECT coalesce(json_agg(json_build_object('id', c.id, 'external_id', c.external_id, 'last_seq', c.last_seq,
                                                   'title', c.title, 'gateway_id', c.gateway_id)), '[]'::json)
          FROM conversations c
         WHERE c.workspace_id = $1::uuid AND c.owner_user_id = $2::uuid AND c.external_id = ANY($4::text[])) AS held`,
    [gateway.workspaceId, gateway.ownerUserId, gateway.id, externalIds],
  );
  const row = rows[0];
  return {
    active: row?.active === true,
    tombstoned: new Set(row?.tombstoned ?? []),
    held: new Map(
      (row?.held ?? []).map((c) => [
        c.external_id,
        { id: c.id, lastSeq: Number(c.last_seq), title: c.title, gatewayId: c.gateway_id },
      ]),
    ),
  };
}

export type ConversationRow = { id: string; external_id: string; last_seq: number };

/**
 * Creates the batch's new conversations and refreshes the titles of known
 * ones. A conversation is its person's in the workspace, whichever of their
 * gateways sends it (a re-link enrolls a new gateway id): a known one
 * continues, and records the gateway it last came from. The caller skips it
 * when nothing would change (every conversation held, same gateway, no new title).
 */
export async function upsertConversations(
  sql: Sql,
  gateway: GatewayRef,
  conversations: PlannedConversation[],
  at: Date,
): Promise<ConversationRow[]> {
  if (conversations.length === 0) return [];
  const { rows } = await sql.query<ConversationRow>(
    `INSERT INTO conversations
            (workspace_id, gateway_id, owner_user_id, external_id, agent_id, agent_source, title, created_at, updated_at)
     SELECT $1::uuid, $2::uuid, $3::uuid, e.external_id, e.agent_id, e.agent_source::conversation_agent_source,
            e.title, $8::timestamptz, $8::timestamptz
       FROM unnest($4::text[], $5::text[], $6::text[], $7::text[]) AS e(external_id, agent_id, agent_source, title)
     ON CONFLICT (workspace_id, owner_user_id, external_id) DO UPDATE
        SET title = COALESCE(EXCLUDED.title, conversations.title),
            gateway_id = EXCLUDED.gateway_id
     RETURNING id::text, external_id, last_seq`,
    [
      gateway.workspaceId,
      gateway.id,
      gateway.ownerUserId,
      conversations.map((c) => c.externalId),
      conversations.map((c) => c.agentId),
      conversations.map((c) => c.agentSource),
      conversations.map((c) => c.title ?? null),
      at,
    ],
  );
  return rows.map((row) => ({ ...row, last_seq: Number(row.last_seq) }));
}

export type MessageRow = SealedMessage & {
  id: string;
  conversationId: string;
  seq: number;
  role: string;
  status: string | null;
  createdAt: string;
};

export type AdvancedRow = { id: string; external_id: string; last_seq: number };

/**
 * One statement for the batch's messages and its acks. The messages go in
 * with one `INSERT … SELECT FROM unnest(…) ON CONFLICT DO NOTHING` (one
 * already there, by id or by sequence in its conversation, is skipped); the
 * ciphertexts and nonces travel as one binary `bytea` each (no base64 or hex
 * text to encode and decode), cut by offsets. Then each of `conversationIds`
 * moves its `last_seq` to the highest sequence held without a gap from 1:
 * past the old `last_seq`, the i-th message in sequence order continues the
 * run exactly when its sequence is old + i. What the statement inserted is
 * not in its own snapshot of `messages`, so the rows held are the table's
 * plus the INSERT's RETURNING (disjoint: an inserted row was not there).
 * The table's rows past `last_seq` are read per conversation by an index
 * range scan on (conversation_id, seq) (the LATERAL with OFFSET 0 keeps the
 * planner from joining every message of the conversations and filtering
 * afterwards, which read a conversation's whole history on every batch).
 * Returns the conversations that moved.
 */
export async function insertMessagesAndAdvance(
  sql: Sql,
  rows: MessageRow[],
  conversationIds: string[],
  at: Date,
): Promise<AdvancedRow[]> {
  if (conversationIds.length === 0) return [];
  const offsets: number[] = [];
  const lengths: number[] = [];
  let offset = 0;
  for (const row of rows) {
    offsets.push(offset + 1);
    lengths.push(row.ciphertext.length);
    offset += row.ciphertext.length;
  }
  const ciphertexts = Buffer.concat(
    rows.map((row) => row.ciphertext),
    offset,
  );
  const nonces = Buffer.concat(rows.map((row) => row.nonce));
  const nonceLength = rows[0]?.nonce.length ?? 0;
  if (rows.some((row) => row.nonce.length !== nonceLength))
    throw new Error('transcripts: nonces differ in length');
  const { rows: advanced } = await sql.query<AdvancedRow>(
    `WITH inserted AS (
       INSERT INTO messages (id, conversation_id, seq, role, ciphertext, nonce, data_key_version, status, created_at, received_at)
       SELECT m.id, m.conversation_id, m.seq, m.role::message_role,
              substring($10::bytea FROM m.at FOR m.length),
              substring($11::bytea FROM (m.ord - 1)::int4 * $12::int4 + 1 FOR $12::int4),
              m.data_key_version, m.status, m.created_at, $13::timestamptz
         FROM unnest($1::uuid[], $2::uuid[], $3::int4[], $4::text[], $5::int4[], $6::text[], $7::timestamptz[],
                     $8::int4[], $9::int4[])
              WITH ORDINALITY AS m(id, conversation_id, seq, role, data_key_version, status, created_at, at, length, ord)
       ON CONFLICT DO NOTHING
       RETURNING conversation_id, seq, created_at),
     held AS (
       SELECT k.id AS conversation_id, m.seq, m.created_at
         FROM conversations k
              CROSS JOIN LATERAL (SELECT x.seq, x.created_at FROM messages x
                                   WHERE x.conversation_id = k.id AND x.seq > k.last_seq OFFSET 0) m
        WHERE k.id = ANY($14::uuid[])
       UNION ALL
       SELECT conversation_id, seq, created_at FROM inserted),
     ranked AS (
       SELECT h.conversation_id, h.seq, h.created_at, k.last_seq AS base,
              row_number() OVER (PARTITION BY h.conversation_id ORDER BY h.seq) AS rank
         FROM held h JOIN conversations k ON k.id = h.conversation_id
        WHERE h.seq > k.last_seq),
     run AS (
       SELECT conversation_id,
              count(*) FILTER (WHERE seq = base + rank)::int4 AS length,
              max(created_at) FILTER (WHERE seq = base + rank) AS last_at
         FROM ranked GROUP BY conversation_id)
     UPDATE conversations c
        SET last_seq = c.last_seq + run.length,
            last_message_at = GREATEST(c.last_message_at, run.last_at),
            updated_at = $13::timestamptz
       FROM run
      WHERE c.id = run.conversation_id AND run.length > 0
     RETURNING c.id::text, c.external_id, c.last_seq`,
    [
      rows.map((r) => r.id),
      rows.map((r) => r.conversationId),
      rows.map((r) => r.seq),
      rows.map((r) => r.role),
      rows.map((r) => r.dataKeyVersion),
      rows.map((r) => r.status),
      rows.map((r) => r.createdAt),
      offsets,
      lengths,
      ciphertexts,
      nonces,
      nonceLength,
      at,
      conversationIds,
    ],
  );
  return advanced.map((row) => ({ ...row, last_seq: Number(row.last_seq) }));
}
