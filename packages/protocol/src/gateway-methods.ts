import { z } from 'zod';
import {
  GatewayErrorShape,
  LocalAgent,
  LocalAgentId,
  ModelRef,
  SessionKey,
  StoredMessage,
} from './gateway.js';
import { LinkStatus } from './gateway-link.js';
import { Id } from './ids.js';
import { RecordingMethods } from './recordings.js';
import { GatewaySyncStatus } from './transcripts.js';

/** The control protocol's methods (OpenClaw's names and params, ours prefixed `multiclaw.`) and the run events behind its `chat`/`agent` events. */
// ---- method params and results ---------------------------------------------

/**
 * Fields OpenClaw's schema defines for a method that this gateway has no
 * feature for (channels, delivery, workspaces, thinking levels…): accepted,
 * so OpenClaw's clients can send them, and ignored. docs/gateway.md lists them.
 */
function ignoredFields<const Names extends readonly string[]>(names: Names) {
  return Object.fromEntries(names.map((name) => [name, z.unknown().optional()])) as {
    [Name in Names[number]]: z.ZodOptional<z.ZodUnknown>;
  };
}

/** A session key as a client writes it: a full key, a bare name (`main`: the default agent's), or an old session id. */
const SessionRef = z.string().min(1).max(512);
const Empty = z.strictObject({}).optional();
const IdempotencyKey = z.string().min(1).max(128);
const Message = z.string().min(1).max(200_000);
/** OpenClaw sends attachments as an array; this gateway runs text only and refuses any attachment. */
const NoAttachments = z.array(z.unknown()).max(0, 'attachments are not supported by this gateway').optional();

export const GatewayMethods = {
  health: { params: z.strictObject({ probe: z.boolean().optional() }).optional() },
  status: { params: Empty },
  'agents.list': { params: Empty },
  'agents.create': {
    params: z.strictObject({
      name: z.string().trim().min(1).max(100),
      /** `provider/model`; the first configured provider's default when absent is not guessed: required here. */
      model: ModelRef.optional(),
      ...ignoredFields(['workspace', 'emoji', 'avatar']),
    }),
  },
  'agents.update': {
    params: z.strictObject({
      agentId: LocalAgentId,
      name: z.string().trim().min(1).max(100).optional(),
      model: ModelRef.optional(),
      ...ignoredFields(['workspace', 'agentRuntime', 'emoji', 'avatar']),
    }),
  },
  'agents.delete': {
    params: z.strictObject({ agentId: LocalAgentId, ...ignoredFields(['deleteFiles']) }),
  },
  agent: {
    params: z.strictObject({
      message: Message,
      agentId: LocalAgentId.optional(),
      sessionKey: SessionRef.optional(),
      idempotencyKey: IdempotencyKey,
      /** Seconds to wait for the final answer (0: no limit). */
      timeout: z.number().int().nonnegative().optional(),
      extraSystemPrompt: z.string().max(100_000).optional(),
      attachments: NoAttachments,
      ...ignoredFields([
        'provider',
        'model',
        'to',
        'replyTo',
        'sessionId',
        'expectedExistingSessionId',
        'thinking',
        'deliver',
        'channel',
        'replyChannel',
        'accountId',
        'replyAccountId',
        'threadId',
        'groupId',
        'groupChannel',
        'groupSpace',
        'bestEffortDeliver',
        'lane',
        'cwd',
        'cleanupBundleMcpOnRunEnd',
        'modelRun',
        'promptMode',
        'bootstrapContextMode',
        'bootstrapContextRunKind',
        'acpTurnSource',
        'internalRuntimeHandoffId',
        'internalExecutionIdentityRetry',
        'internalExecutionIdentityRecoveryAttempt',
        'execApprovalFollowupExpectedSessionId',
        'internalEvents',
        'inputProvenance',
        'suppressPromptPersistence',
        'sessionEffects',
        'sourceReplyDeliveryMode',
        'disableMessageTool',
        'swarmCollector',
        'swarmOutputSchema',
        'forceRestartSafeTools',
        'forceCodeModeTools',
        'voiceWakeTrigger',
        'label',
      ]),
    }),
  },
  'agent.wait': {
    params: z.strictObject({
      runId: z.string().min(1).max(128),
      timeoutMs: z.number().int().nonnegative().optional(),
    }),
  },
  'chat.send': {
    params: z.strictObject({
      sessionKey: SessionRef,
      agentId: LocalAgentId.optional(),
      message: Message,
      idempotencyKey: IdempotencyKey,
      attachments: NoAttachments,
      ...ignoredFields([
        'sessionId',
        'mentions',
        'workContext',
        'intent',
        'thinking',
        'fastMode',
        'fastAutoOnSeconds',
        'queueMode',
        'deliver',
        'originatingChannel',
        'originatingTo',
        'originatingAccountId',
        'originatingThreadId',
        'replyToId',
        'toolBindings',
        'timeoutMs',
        'systemInputProvenance',
        'systemProvenanceReceipt',
        'suppressCommandInterpretation',
        'expectedLeafEntryId',
        'expectedSessionRoutingContract',
        'expectedPermissionMode',
        'expectedToolOverrides',
      ]),
    }),
  },
  'chat.history': {
    params: z.strictObject({
      sessionKey: SessionRef,
      agentId: LocalAgentId.optional(),
      limit: z.number().int().min(1).max(1000).optional(),
      /** Our cursor: messages with seq < before (`nextBefore` of the previous page). */
      cursor: z
        .string()
        .regex(/^[1-9][0-9]{0,15}$/)
        .optional(),
      ...ignoredFields([
        'maxBytes',
        'offset',
        'pendingBefore',
        'inputRunIds',
        'messageId',
        'sessionId',
        'maxChars',
      ]),
    }),
  },
  'chat.abort': {
    params: z.strictObject({
      sessionKey: SessionRef,
      agentId: LocalAgentId.optional(),
      runId: z.string().min(1).max(128).optional(),
      ...ignoredFields(['preserveSideRuns']),
    }),
  },
  'sessions.list': {
    params: z
      .strictObject({
        limit: z.number().int().min(1).max(1000).optional(),
        offset: z.number().int().nonnegative().optional(),
        agentId: LocalAgentId.optional(),
        search: z.string().max(200).optional(),
        ...ignoredFields([
          'activeMinutes',
          'activeOnly',
          'requireLastInteraction',
          'sortBy',
          'includeGlobal',
          'includeUnknown',
          'excludeSubagents',
          'excludeCron',
          'excludeSystem',
          'configuredAgentsOnly',
          'includeDerivedTitles',
          'includeLastMessage',
          'includeActivitySummary',
          'label',
          'projectId',
          'workspaceDir',
          'group',
          'pinned',
          'boardFace',
          'hasBoard',
          'creatorId',
          'ownerId',
          'ownerFirst',
          'involvingMe',
          'profileRelation',
          'involvingProfileId',
          'includePeople',
          'spawnedBy',
          'archived',
        ]),
      })
      .optional(),
  },
  /** OpenClaw's transcript read (what its ACP bridge replays a loaded session from). */
  'sessions.get': {
    params: z.strictObject({
      key: SessionRef,
      agentId: LocalAgentId.optional(),
      limit: z.number().int().min(1).optional(),
    }),
  },
  'sessions.describe': {
    params: z.strictObject({
      key: SessionRef,
      agentId: LocalAgentId.optional(),
      ...ignoredFields(['includeDerivedTitles', 'includeLastMessage']),
    }),
  },
  'sessions.delete': {
    params: z.strictObject({
      key: SessionRef,
      agentId: LocalAgentId.optional(),
      ...ignoredFields([
        'deleteTranscript',
        'expectedSessionId',
        'expectedLifecycleRevision',
        'expectedSessionUpdatedAt',
        'emitLifecycleHooks',
        'archivedOnly',
      ]),
    }),
  },
  'sessions.reset': {
    params: z.strictObject({
      key: SessionRef,
      agentId: LocalAgentId.optional(),
      reason: z.enum(['new', 'reset']).optional(),
      ...ignoredFields(['expectedSessionId']),
    }),
  },
  /** Ours: an agent's whole local definition (system prompt, token limit), which OpenClaw's agent methods do not carry. */
  'multiclaw.agents.get': { params: z.strictObject({ agentId: LocalAgentId }) },
  'multiclaw.agents.upsert': { params: z.strictObject({ agent: LocalAgent }) },
  ...RecordingMethods,
} as const;
export type GatewayMethod = keyof typeof GatewayMethods;
export const GATEWAY_METHODS = Object.keys(GatewayMethods) as GatewayMethod[];
export type GatewayMethodParams<M extends GatewayMethod> = z.infer<(typeof GatewayMethods)[M]['params']>;

/** The events this gateway sends (OpenClaw's names and shapes). */
export const GATEWAY_EVENTS = ['connect.challenge', 'agent', 'chat', 'tick', 'shutdown'] as const;

/** What `status` (and `GET /v1/gateway/status`) answers. */
export const GatewayStatus = z.object({
  runtimeVersion: z.string(),
  version: z.string(),
  pid: z.number().int(),
  uptimeMs: z.number().nonnegative(),
  agents: z.number().int().nonnegative(),
  providers: z.number().int().nonnegative(),
  sessions: z.number().int().nonnegative(),
  /** The link to MultiClaw Cloud (absent only from gateways older than the link). */
  link: LinkStatus.optional(),
  /** Transcript sync to the linked workspace (absent only from gateways older than the sync). */
  sync: GatewaySyncStatus.optional(),
});
export type GatewayStatus = z.infer<typeof GatewayStatus>;

/** What `chat.send` answers, beside OpenClaw's `{runId, status: "started"}`, when the idempotency key was seen. */
export const ChatSendResult = z.object({
  runId: Id,
  sessionKey: SessionKey,
  /**
   * `started` for a new run; `in_flight` or `ok` (finished: its reply is in
   * `chat.history`) when the idempotency key was seen before, as OpenClaw
   * answers; `interrupted` when that run never finished (the gateway stopped
   * mid-run) — sending the same key again then starts the reply anew.
   */
  status: z.enum(['started', 'in_flight', 'ok', 'interrupted']),
});
export type ChatSendResult = z.infer<typeof ChatSendResult>;

/**
 * The run service's own account of a run: deltas while it streams, then
 * exactly one terminal state. The control protocol turns it into OpenClaw's
 * `chat` and `agent` events.
 */
export const RunEvent = z.object({
  runId: Id,
  sessionKey: SessionKey,
  seq: z.number().int().nonnegative(),
  /** `start` once the request is stored and the model is called; then deltas; then one terminal state. */
  state: z.enum(['start', 'delta', 'final', 'aborted', 'error']),
  delta: z.string().optional(),
  message: StoredMessage.optional(),
  error: GatewayErrorShape.optional(),
});
export type RunEvent = z.infer<typeof RunEvent>;
