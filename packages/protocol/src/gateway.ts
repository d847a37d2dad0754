import { z } from 'zod';
import { ErrorCode, ErrorDetails } from './errors.js';
import { Id, Timestamp } from './ids.js';

/**
 * The local gateway's WebSocket control protocol, in OpenClaw's frame shapes
 * (DESIGN.md §6): the server opens with a `connect.challenge` event, the
 * client's first frame is a `connect` request, then `req` / `res` / `event`.
 */
export const GATEWAY_PROTOCOL_VERSION = 1;

export const GatewayRequestFrame = z.strictObject({
  type: z.literal('req'),
  id: z.string().min(1).max(128),
  method: z.string().min(1).max(64),
  params: z.unknown().optional(),
});
export type GatewayRequestFrame = z.infer<typeof GatewayRequestFrame>;

export const GatewayErrorShape = z.object({
  code: ErrorCode,
  message: z.string(),
  details: ErrorDetails.optional(),
});
export type GatewayErrorShape = z.infer<typeof GatewayErrorShape>;

export const GatewayResponseFrame = z.discriminatedUnion('ok', [
  z.object({ type: z.literal('res'), id: z.string(), ok: z.literal(true), payload: z.unknown() }),
  z.object({ type: z.literal('res'), id: z.string(), ok: z.literal(false), error: GatewayErrorShape }),
]);
export type GatewayResponseFrame = z.infer<typeof GatewayResponseFrame>;

export const GatewayEventFrame = z.object({
  type: z.literal('event'),
  event: z.string(),
  payload: z.unknown(),
  /** Increments per connection, so a client can tell it missed nothing. */
  seq: z.number().int().nonnegative().optional(),
});
export type GatewayEventFrame = z.infer<typeof GatewayEventFrame>;

export const ConnectChallenge = z.object({ nonce: z.string().min(16), ts: z.number().int() });
export type ConnectChallenge = z.infer<typeof ConnectChallenge>;

export const ConnectParams = z.strictObject({
  minProtocol: z.number().int().positive(),
  maxProtocol: z.number().int().positive(),
  client: z.strictObject({
    id: z.string().min(1).max(64),
    version: z.string().min(1).max(64),
    platform: z.string().max(64).optional(),
    mode: z.string().max(64).optional(),
  }),
  /** The nonce of this connection's `connect.challenge`, echoed back. */
  nonce: z.string().min(16).max(128),
  auth: z.strictObject({ token: z.string().min(1).max(512) }),
});
export type ConnectParams = z.infer<typeof ConnectParams>;

export const HelloOk = z.object({
  type: z.literal('hello-ok'),
  protocol: z.number().int(),
  server: z.object({ version: z.string(), connId: z.string() }),
  features: z.object({ methods: z.array(z.string()), events: z.array(z.string()) }),
  policy: z.object({
    maxPayload: z.number().int(),
    maxBufferedBytes: z.number().int(),
    tickIntervalMs: z.number(),
  }),
});
export type HelloOk = z.infer<typeof HelloOk>;

// ---- agents ---------------------------------------------------------------

export const LocalAgentId = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9_-]{0,63}$/,
    'lower-case letters, digits, "-" and "_", at most 64, starting alphanumeric',
  );

/** `provider/model`, as OpenClaw writes model references (e.g. `anthropic/claude-sonnet-4-5`). */
export const ModelRef = z
  .string()
  .max(200)
  .regex(/^[a-z0-9][a-z0-9_-]{0,63}\/\S+$/, '"<provider id>/<model name>"');

export const LocalAgent = z.strictObject({
  id: LocalAgentId,
  name: z.string().trim().min(1).max(100),
  model: ModelRef,
  systemPrompt: z.string().max(100_000).optional(),
  maxTokens: z.number().int().positive().max(1_000_000).optional(),
});
export type LocalAgent = z.infer<typeof LocalAgent>;

// ---- sessions (conversations) and messages ---------------------------------

export const SessionKey = Id;

export const StoredMessage = z.object({
  id: Id,
  sessionKey: SessionKey,
  /** 1, 2, 3… per session, without gaps: the sync cursor depends on it. */
  seq: z.number().int().positive(),
  role: z.enum(['system', 'user', 'assistant']),
  content: z.string(),
  createdAt: Timestamp,
  runId: Id.optional(),
  /**
   * How an assistant turn ended; absent on other roles. `interrupted`: the
   * gateway stopped (crash, kill) mid-run; the content is what had streamed.
   */
  status: z.enum(['complete', 'aborted', 'error', 'interrupted']).optional(),
  error: GatewayErrorShape.optional(),
});
export type StoredMessage = z.infer<typeof StoredMessage>;

export const SessionSummary = z.object({
  key: SessionKey,
  agentId: LocalAgentId,
  title: z.string(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  messageCount: z.number().int().nonnegative(),
  /** Set when this conversation's file is damaged: listed, but reading it fails with STORE_SESSION_DAMAGED. */
  damaged: z.literal(true).optional(),
});
export type SessionSummary = z.infer<typeof SessionSummary>;

// ---- method params and results ---------------------------------------------

const Empty = z.strictObject({}).optional();

export const GatewayMethods = {
  health: { params: Empty },
  'agents.list': { params: Empty },
  'agents.get': { params: z.strictObject({ agentId: LocalAgentId }) },
  'agents.upsert': { params: z.strictObject({ agent: LocalAgent }) },
  'agents.delete': { params: z.strictObject({ agentId: LocalAgentId }) },
  'sessions.list': {
    params: z
      .strictObject({
        agentId: LocalAgentId.optional(),
        limit: z.number().int().min(1).max(200).optional(),
        cursor: z.string().max(200).optional(),
      })
      .optional(),
  },
  'sessions.history': {
    params: z.strictObject({
      sessionKey: SessionKey,
      /** Messages with seq < before (newest first page when absent). */
      before: z.number().int().positive().optional(),
      limit: z.number().int().min(1).max(1000).optional(),
    }),
  },
  'chat.send': {
    params: z.strictObject({
      agentId: LocalAgentId,
      /** Continue this session; a new one is created when absent. */
      sessionKey: SessionKey.optional(),
      message: z.string().min(1).max(200_000),
      idempotencyKey: z.string().min(8).max(128),
    }),
  },
  'chat.abort': { params: z.strictObject({ sessionKey: SessionKey, runId: Id.optional() }) },
} as const;
export type GatewayMethod = keyof typeof GatewayMethods;
export const GATEWAY_METHODS = Object.keys(GatewayMethods) as GatewayMethod[];
export type GatewayMethodParams<M extends GatewayMethod> = z.infer<(typeof GatewayMethods)[M]['params']>;

export const GATEWAY_EVENTS = ['connect.challenge', 'chat', 'tick'] as const;

export const ChatSendResult = z.object({
  runId: Id,
  sessionKey: SessionKey,
  /**
   * `started` for a new run; `in_flight` or `done` when the idempotency key was
   * seen before; `interrupted` when that run never finished (the gateway stopped
   * mid-run) — sending the same key again then starts the reply anew.
   */
  status: z.enum(['started', 'in_flight', 'done', 'interrupted']),
});
export type ChatSendResult = z.infer<typeof ChatSendResult>;

/** Payload of `chat` events: deltas while the run streams, then exactly one terminal state. */
export const ChatEvent = z.object({
  runId: Id,
  sessionKey: SessionKey,
  seq: z.number().int().nonnegative(),
  state: z.enum(['delta', 'final', 'aborted', 'error']),
  delta: z.string().optional(),
  message: StoredMessage.optional(),
  error: GatewayErrorShape.optional(),
});
export type ChatEvent = z.infer<typeof ChatEvent>;
