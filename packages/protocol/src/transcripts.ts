import { z } from 'zod';
import { Id, Timestamp } from './ids.js';
import { Cursor, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './pagination.js';

/**
 * Synced transcripts in a workspace (DESIGN.md §7): the conversations a
 * gateway synced, their messages (decrypted for the reader), and deletion.
 * A member reads and deletes their own; an owner everyone's (§4).
 */

export const ConversationParams = z.object({ wid: Id, cid: Id });
export type ConversationParams = z.infer<typeof ConversationParams>;

/** `GET /v1/workspaces/:wid/conversations`: newest first, optionally one agent's or one person's. */
export const ConversationListQuery = z.object({
  /** A workspace agent's id, or a local agent's id (as the gateway named it). */
  agentId: z.string().min(1).max(64).optional(),
  /** The person whose conversations (for a member, only their own id finds any). */
  userId: Id.optional(),
  cursor: Cursor.optional(),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(DEFAULT_PAGE_SIZE),
});
export type ConversationListQuery = z.infer<typeof ConversationListQuery>;

export const ConversationSummary = z.object({
  id: Id,
  agentId: z.string(),
  agentSource: z.enum(['workspace', 'local']),
  /** The person whose gateway synced it (its owner). */
  userId: Id,
  /** Null once the gateway is deleted (revoked gateways stay). */
  gatewayId: Id.nullable(),
  title: z.string().nullable(),
  /** Messages readable now: sequence 1 to the highest one held without a gap. */
  messageCount: z.number().int().nonnegative(),
  lastMessageAt: Timestamp.nullable(),
  createdAt: Timestamp,
});
export type ConversationSummary = z.infer<typeof ConversationSummary>;

/**
 * `GET …/conversations/:cid/messages?after=<seq>&limit`: messages with a
 * sequence above `after`, in order. `nextCursor` is the `after` of the next
 * page (a sequence number, as a string), null on the last one.
 */
export const MessageListQuery = z.object({
  after: z.coerce
    .number()
    .int()
    .nonnegative()
    .max(2 ** 31 - 1)
    .default(0),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(DEFAULT_PAGE_SIZE),
});
export type MessageListQuery = z.infer<typeof MessageListQuery>;

export const TranscriptMessage = z.object({
  /** The id the gateway gave it. */
  id: Id,
  seq: z.number().int().positive(),
  role: z.enum(['system', 'user', 'assistant', 'tool']),
  content: z.string(),
  createdAt: Timestamp,
  /** How an assistant turn ended: complete, aborted, error or interrupted. */
  status: z.string().optional(),
});
export type TranscriptMessage = z.infer<typeof TranscriptMessage>;

/** A gateway's transcript sync, as its `status` (and `GET /v1/gateway/status`, `status --json`) reports it. */
export const GatewaySyncStatus = z.object({
  state: z.enum(['not linked', 'offline', 'sending', 'up to date', 'retrying']),
  /** The workspace it syncs to (while linked). */
  workspaceId: Id.optional(),
  /** Messages in scope the cloud has not acknowledged yet (conversations not yet opened are not counted). */
  pending: z.number().int().nonnegative(),
  pendingConversations: z.number().int().nonnegative(),
  /** When the cloud last acknowledged a batch, since the gateway started. */
  lastAckAt: Timestamp.optional(),
});
export type GatewaySyncStatus = z.infer<typeof GatewaySyncStatus>;
