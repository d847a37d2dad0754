import { z } from 'zod';
import { ErrorCode, ErrorDetails } from './errors.js';
import { Id, Timestamp } from './ids.js';

/**
 * The local gateway's WebSocket control protocol: OpenClaw's gateway protocol
 * v4 (DESIGN.md §6, docs/gateway.md). The server opens with a
 * `connect.challenge` event, the client's first frame is a `connect` request,
 * then `req` / `res` / `event`. The shapes follow OpenClaw 2026.9.6's own
 * schemas (apps/gateway/test/fixtures/openclaw-protocol-v4), which the
 * gateway's conformance tests check every frame against.
 */
export const GATEWAY_PROTOCOL_VERSION = 4;

export const GatewayRequestFrame = z.strictObject({
  type: z.literal('req'),
  id: z.string().min(1).max(128),
  method: z.string().min(1).max(128),
  params: z.unknown().optional(),
  /** W3C trace context and OpenClaw's profile check: accepted, not used. */
  traceparent: z.string().max(128).optional(),
  expectedProfileId: z.string().min(1).max(128).optional(),
});
export type GatewayRequestFrame = z.infer<typeof GatewayRequestFrame>;

/** Our own error shape, as stored with a failed reply (`StoredMessage.error`) and in HTTP envelopes. */
export const GatewayErrorShape = z.object({
  code: ErrorCode,
  message: z.string(),
  details: ErrorDetails.optional(),
});
export type GatewayErrorShape = z.infer<typeof GatewayErrorShape>;

/**
 * OpenClaw's error codes: the `code` of every error frame. `details.code`
 * refines it (OpenClaw's own detail codes such as `AUTH_TOKEN_MISMATCH`, or
 * one of our error codes, docs/errors.md).
 */
export const PROTOCOL_ERROR_CODES = [
  'INVALID_REQUEST',
  'FORBIDDEN',
  'NOT_PAIRED',
  'NOT_LINKED',
  'UNAVAILABLE',
  'AGENT_TIMEOUT',
  'APPROVAL_NOT_FOUND',
] as const;
export const ProtocolErrorCode = z.enum(PROTOCOL_ERROR_CODES);
export type ProtocolErrorCode = z.infer<typeof ProtocolErrorCode>;

export const ProtocolError = z.strictObject({
  code: ProtocolErrorCode,
  message: z.string().min(1),
  details: z
    .record(z.string(), z.unknown())
    .and(z.object({ code: z.string().optional() }))
    .optional(),
  retryable: z.boolean().optional(),
  retryAfterMs: z.number().int().nonnegative().optional(),
});
export type ProtocolError = z.infer<typeof ProtocolError>;

export const GatewayResponseFrame = z.discriminatedUnion('ok', [
  z.object({ type: z.literal('res'), id: z.string(), ok: z.literal(true), payload: z.unknown() }),
  z.object({ type: z.literal('res'), id: z.string(), ok: z.literal(false), error: ProtocolError }),
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

/** The client ids and modes OpenClaw's schema allows in `connect`. */
export const CLIENT_IDS = [
  'webchat-ui',
  'openclaw-control-ui',
  'openclaw-browser-copilot',
  'openclaw-tui',
  'webchat',
  'cli',
  'gateway-client',
  'openclaw-macos',
  'openclaw-linux',
  'openclaw-ios',
  'openclaw-watchos',
  'openclaw-android',
  'node-host',
  'openclaw-worker',
  'test',
  'fingerprint',
  'openclaw-probe',
] as const;
export const CLIENT_MODES = ['webchat', 'cli', 'ui', 'backend', 'node', 'worker', 'probe', 'test'] as const;

const Text = z.string().min(1);

export const DeviceIdentityParams = z.strictObject({
  /** SHA-256 (hex) of the raw Ed25519 public key. */
  id: Text,
  /** Raw 32-byte Ed25519 public key, base64url. */
  publicKey: Text,
  /** Ed25519 signature over the v3 (or v2) connect payload, base64url. */
  signature: Text,
  signedAt: z.number().int().nonnegative(),
  nonce: Text,
});

/**
 * `connect`: every field OpenClaw's `ConnectParams` schema defines and nothing
 * else. Fields for OpenClaw features we do not have (`computerUse`,
 * `workerRuns`, `modelCatalog`, `pathEnv`, `commands`, `permissions`) are
 * accepted and ignored, as a gateway without those features would.
 */
export const ConnectParams = z.strictObject({
  minProtocol: z.number().int().min(1),
  maxProtocol: z.number().int().min(1),
  client: z.strictObject({
    id: z.enum(CLIENT_IDS),
    displayName: Text.optional(),
    version: Text,
    buildId: Text.max(96).optional(),
    platform: Text,
    deviceFamily: Text.optional(),
    modelIdentifier: Text.optional(),
    timeZone: Text.max(64).optional(),
    mode: z.enum(CLIENT_MODES),
    instanceId: Text.optional(),
  }),
  caps: z.array(Text).optional(),
  commands: z.array(Text).optional(),
  computerUse: z.unknown().optional(),
  workerRuns: z.unknown().optional(),
  permissions: z.record(z.string(), z.boolean()).optional(),
  pathEnv: z.string().optional(),
  role: Text.optional(),
  scopes: z.array(Text).optional(),
  modelCatalog: z.unknown().optional(),
  device: DeviceIdentityParams.optional(),
  auth: z
    .strictObject({
      token: z.string().optional(),
      bootstrapToken: z.string().optional(),
      deviceToken: z.string().optional(),
      password: z.string().optional(),
      approvalRuntimeToken: z.string().optional(),
      agentRuntimeIdentityToken: z.string().optional(),
    })
    .optional(),
  locale: z.string().optional(),
  userAgent: z.string().optional(),
});
export type ConnectParams = z.infer<typeof ConnectParams>;

/** The parts of OpenClaw's `hello-ok` we send (its schema: HelloOkSchema). */
export const HelloOk = z.object({
  type: z.literal('hello-ok'),
  protocol: z.number().int(),
  server: z.object({ version: z.string(), connId: z.string(), bootId: z.string().optional() }),
  features: z.object({ methods: z.array(z.string()), events: z.array(z.string()) }),
  snapshot: z.object({
    presence: z.array(z.object({ ts: z.number().int() }).loose()),
    health: z.record(z.string(), z.unknown()),
    stateVersion: z.object({ presence: z.number().int(), health: z.number().int() }),
    uptimeMs: z.number().int(),
    sessionDefaults: z.object({
      defaultAgentId: z.string(),
      mainKey: z.string(),
      mainSessionKey: z.string(),
    }),
    authMode: z.enum(['none', 'token', 'password', 'trusted-proxy']),
  }),
  auth: z.object({ role: z.string(), scopes: z.array(z.string()), method: z.string().optional() }),
  policy: z.object({
    maxPayload: z.number().int(),
    maxBufferedBytes: z.number().int(),
    tickIntervalMs: z.number().int(),
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

/**
 * A conversation's address, in OpenClaw's form `agent:<agentId>:<name>`
 * (`agent:main:main` is the main session). Sessions created before session
 * keys existed are `agent:<agentId>:<their old id>`, and their old id alone
 * still finds them (docs/gateway-store.md).
 */
export const SessionKey = z
  .string()
  .max(512)
  .regex(/^agent:[a-z0-9][a-z0-9_-]{0,63}:[^\s\p{Cc}]{1,400}$/u, '"agent:<agentId>:<name>"');
export type SessionKey = z.infer<typeof SessionKey>;

/** The session key of agent `agentId`'s conversation called `name`. */
export function sessionKeyOf(agentId: string, name: string): string {
  return `agent:${agentId}:${name}`;
}

/** The agent a session key belongs to. */
export function agentIdOfSessionKey(key: string): string {
  return key.slice('agent:'.length, key.indexOf(':', 'agent:'.length));
}

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
