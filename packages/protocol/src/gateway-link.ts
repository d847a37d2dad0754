import { z } from 'zod';
import { Agent } from './agents.js';
import { Id, Timestamp } from './ids.js';

/**
 * The gateway ↔ cloud link (DESIGN.md §7): one outbound WebSocket per linked
 * gateway at `GET /v1/gateway-link`. Frames are `WsEnvelope`s (ws.ts); this is
 * the catalog of each direction, parsed by both ends.
 *
 * Connecting: the gateway sends `Authorization: Bearer <assertion>` and
 * `MultiClaw-Link-Versions: 1[,2…]` (the link protocol versions it speaks) on
 * the upgrade. The cloud picks the highest version both speak, or refuses the
 * upgrade with 426 LINK_VERSION_UNSUPPORTED naming both lists; then its first
 * frame is `link.ready`, followed by `config.agents`.
 */

/** The link protocol versions this build speaks, highest last. */
export const LINK_PROTOCOL_VERSIONS = [1] as const;
export const LINK_VERSIONS_HEADER = 'multiclaw-link-versions';
export const GATEWAY_LINK_PATH = '/v1/gateway-link';

/** An assertion lives at most this long (`exp - iat`); the cloud refuses longer ones. */
export const LINK_ASSERTION_MAX_SECONDS = 60;
/** The only signature algorithm of an assertion (Ed25519); the cloud pins it. */
export const LINK_ASSERTION_ALG = 'EdDSA';
/**
 * The assertion's `typ` header (explicit typing, RFC 8725 §3.11): a JWT made
 * for anything else, even signed by the same key, is never a link assertion.
 */
export const LINK_ASSERTION_TYPE = 'multiclaw-link+jwt';
/** How far apart the two clocks may be: `iat` this far ahead, `exp` this far behind, still accepted. */
export const LINK_ASSERTION_CLOCK_SKEW_SECONDS = 5;
/** A `jti`: 16 to 128 characters of base64url's alphabet (a UUID qualifies). */
export const LINK_ASSERTION_JTI = /^[A-Za-z0-9_-]{16,128}$/;
/** The gateway sends `auth.refresh` this long before its current assertion expires. */
export const LINK_REAUTH_MARGIN_SECONDS = 15;
/** Both ends send `link.heartbeat` this often; silence for 3 intervals ends the socket. */
export const LINK_HEARTBEAT_MS = 10_000;
/** Reconnect back-off: full jitter, doubling from 250 ms, capped at 15 s. */
export const LINK_RECONNECT_BASE_MS = 250;
export const LINK_RECONNECT_CAP_MS = 15_000;
/** A `sync.batch` carries at most this many messages (back-pressure: bounded catch-up). */
export const SYNC_BATCH_MAX_MESSAGES = 500;
/** …and at most this many content bytes, so a frame stays under MAX_WS_FRAME_BYTES. */
export const SYNC_BATCH_MAX_CONTENT_BYTES = 512 * 1024;
/** Malformed or unknown frames a socket may send before it is closed (4400). */
export const LINK_MAX_VIOLATIONS = 5;
/**
 * `secrets.fetch` budget of one link socket (a token bucket): this many at
 * once, refilled at LINK_SECRETS_FETCH_PER_SECOND. A gateway fetches once per
 * `config.agents` it gets (one request per 256 agents), one fetch at a time;
 * past the budget a fetch is answered `link.error` RATE_LIMITED, audits
 * nothing, and counts as a violation.
 */
export const LINK_SECRETS_FETCH_BURST = 20;
export const LINK_SECRETS_FETCH_PER_SECOND = 2;

/** WebSocket close codes of the link. */
export const LINK_CLOSE = {
  /** Protocol violations: too many malformed or unknown frames. */
  VIOLATIONS: 4400,
  /** The assertion expired without `auth.refresh`, or a refresh was refused. */
  AUTH_EXPIRED: 4401,
  /** The gateway was revoked, or its owner left the workspace. Do not reconnect. */
  REVOKED: 4403,
  /** A newer connection of the same gateway replaced this one. */
  REPLACED: 4409,
} as const;

/**
 * The link's URL, which is also the `aud` of every assertion, from the
 * cloud's base URL (the `--cloud` URL a gateway was linked with; the cloud's
 * PUBLIC_URL). WHATWG URL normalisation (scheme and host lower-cased, default
 * port dropped), `http:` → `ws:`, `https:` → `wss:`, the path kept without
 * trailing slashes, then GATEWAY_LINK_PATH; credentials, query and fragment
 * are dropped. So `https://Cloud.example.com:443/` and
 * `https://cloud.example.com` both give `wss://cloud.example.com/v1/gateway-link`,
 * and `http://127.0.0.1:8080/mc/` gives `ws://127.0.0.1:8080/mc/v1/gateway-link`.
 * An assertion made for one cloud (or one path) is worthless at another.
 */
export function linkAudience(cloudBaseUrl: string): string {
  const url = new URL(cloudBaseUrl);
  const scheme = { 'http:': 'ws:', 'https:': 'wss:' }[url.protocol];
  if (!scheme) throw new TypeError(`linkAudience: ${url.protocol} is not http: or https:`);
  return `${scheme}//${url.host}${url.pathname.replace(/\/+$/, '')}${GATEWAY_LINK_PATH}`;
}

// ---- shared shapes ---------------------------------------------------------

export const LinkErrorPayload = z.object({
  code: z.string(),
  message: z.string(),
  details: z.record(z.string(), z.unknown()).optional(),
});
export type LinkErrorPayload = z.infer<typeof LinkErrorPayload>;

export const LinkHeartbeat = z.strictObject({ sentAt: Timestamp });

/** A finished message as it syncs. The gateway generates `id` and `seq` (1, 2, 3… per conversation, no gaps). */
export const SyncMessage = z.strictObject({
  id: Id,
  seq: z.number().int().positive(),
  role: z.enum(['system', 'user', 'assistant']),
  content: z.string().max(1024 * 1024),
  createdAt: Timestamp,
  /** How an assistant turn ended (never `streaming`: only finished messages sync). */
  status: z.enum(['complete', 'aborted', 'error', 'interrupted']).optional(),
});
export type SyncMessage = z.infer<typeof SyncMessage>;

export const SyncConversation = z.strictObject({
  /** The gateway's own id for the conversation (stable across renames and restarts). */
  conversationId: z.string().min(1).max(200),
  /** A workspace agent's cloud id, or a local agent's id when the person opted it in. */
  agentId: z.string().min(1).max(64),
  agentSource: z.enum(['workspace', 'local']),
  title: z.string().max(500).optional(),
  /** In `seq` order, contiguous; may start after what the cloud already holds (a resend). */
  messages: z.array(SyncMessage).min(1),
});
export type SyncConversation = z.infer<typeof SyncConversation>;

export const SyncBatch = z
  .strictObject({ conversations: z.array(SyncConversation).min(1) })
  .refine(
    (batch) =>
      batch.conversations.reduce((count, conversation) => count + conversation.messages.length, 0) <=
      SYNC_BATCH_MAX_MESSAGES,
    `A batch carries at most ${SYNC_BATCH_MAX_MESSAGES} messages`,
  );
export type SyncBatch = z.infer<typeof SyncBatch>;

export const SyncAckEntry = z.strictObject({
  conversationId: z.string(),
  /** The highest contiguous sequence the cloud holds for it; the gateway's cursor may move here. */
  ackedSeq: z.number().int().nonnegative(),
  /**
   * `deleted`: the conversation was deleted in the cloud (a tombstone); the
   * gateway stops syncing it and keeps its local copy. `refused`: not accepted
   * (`code` says why, e.g. an agent of another workspace); not retried.
   */
  state: z.enum(['stored', 'deleted', 'refused']),
  code: z.string().optional(),
});
export type SyncAckEntry = z.infer<typeof SyncAckEntry>;

export const SyncAck = z.strictObject({ acks: z.array(SyncAckEntry) });
export type SyncAck = z.infer<typeof SyncAck>;

export const LinkReady = z.strictObject({
  version: z.number().int().positive(),
  gatewayId: Id,
  workspaceId: Id,
  /** When the assertion this connection was opened with expires: `auth.refresh` before it. */
  authExpiresAt: Timestamp,
  heartbeatMs: z.number().int().positive(),
});
export type LinkReady = z.infer<typeof LinkReady>;

/** The workspace's agents, all of them, each time (`version` grows with every change). */
export const ConfigAgents = z.strictObject({
  version: z.number().int().nonnegative(),
  agents: z.array(Agent),
});
export type ConfigAgents = z.infer<typeof ConfigAgents>;

export const SecretsFetch = z.strictObject({ agentIds: z.array(Id).min(1).max(256) });
export type SecretsFetch = z.infer<typeof SecretsFetch>;

export const LinkSecretValue = z.strictObject({
  id: Id,
  name: z.string(),
  version: z.number().int(),
  agentIds: z.array(Id),
  value: z.string(),
});
export const SecretsValue = z.strictObject({ secrets: z.array(LinkSecretValue) });
export type SecretsValue = z.infer<typeof SecretsValue>;

// ---- the link as the gateway reports it (`status --json`) -------------------

export const LINK_STATES = ['not linked', 'connecting', 'online', 'offline', 'revoked'] as const;
export const LinkStatus = z.object({
  state: z.enum(LINK_STATES),
  /** Why it is offline or revoked, in words a person can act on. */
  reason: z.string().optional(),
  cloudUrl: z.string().optional(),
  workspaceId: Id.optional(),
  gatewayId: Id.optional(),
});
export type LinkStatus = z.infer<typeof LinkStatus>;

// ---- the catalogs ----------------------------------------------------------

/** Frames the gateway sends. Requests carry an envelope `id`; the reply carries the same `id`. */
export const GatewayToCloud = {
  'link.heartbeat': LinkHeartbeat,
  /** A fresh assertion, before the current one expires. Reply: `auth.ok` or `link.error`. */
  'auth.refresh': z.strictObject({ assertion: z.string().min(1).max(4096) }),
  /** Reply: `sync.ack`. */
  'sync.batch': SyncBatch,
  /** Reply: `secrets.value` (audited per secret) or `link.error` (RATE_LIMITED past LINK_SECRETS_FETCH_BURST). */
  'secrets.fetch': SecretsFetch,
} as const;

/** Frames the cloud sends. */
export const CloudToGateway = {
  'link.ready': LinkReady,
  'link.heartbeat': LinkHeartbeat,
  'link.error': LinkErrorPayload,
  'auth.ok': z.strictObject({ expiresAt: Timestamp }),
  'sync.ack': SyncAck,
  'config.agents': ConfigAgents,
  'secrets.value': SecretsValue,
} as const;
