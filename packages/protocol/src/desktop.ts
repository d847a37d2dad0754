import { z } from 'zod';
import { DesktopCloudCommands, DesktopCloudEventsToUi } from './desktop-cloud.js';
import { ErrorCode } from './errors.js';
import { LocalAgent, LocalAgentId, ModelRef, SessionKey } from './gateway.js';
import { LinkStatus } from './gateway-link.js';
import { Id } from './ids.js';
import {
  ExtensionPairingSummary,
  PairingCode,
  Recording,
  RecordingName,
  RecordingSummary,
} from './recordings.js';

/**
 * The desktop shell's contract between its unprivileged UI and its privileged
 * host (DESIGN.md §8, docs/desktop.md): the command catalog the UI calls with
 * `POST /ipc/<command>` (the window secret in `x-multiclaw-secret`), each
 * command's input and output, and the frames of the one event stream back
 * (`/ipc/events`, a WebSocket). Names are dotted and stable: the capability
 * files (apps/desktop/capabilities/*.json) allow and deny them by name.
 */

export const DESKTOP_SECRET_HEADER = 'x-multiclaw-secret';
export const DESKTOP_IPC_PREFIX = '/ipc/';
export const DESKTOP_EVENTS_PATH = '/ipc/events';
/** The event stream closes a socket that has not sent `auth.secret` in this time. */
export const DESKTOP_EVENTS_AUTH_TIMEOUT_MS = 5_000;
export const DESKTOP_EVENTS_CLOSE = {
  /** No `auth.secret` in time, or a wrong one. */
  UNAUTHENTICATED: 4401,
  /** A frame that is not in the catalog. */
  INVALID_FRAME: 4400,
  /** The host is stopping. */
  HOST_STOPPING: 1001,
} as const;

// ---- shared shapes ----------------------------------------------------------

const Empty = z.strictObject({});
const Text = (max: number) => z.string().trim().min(1).max(max);
const ProviderId = LocalAgentId;
export const DesktopProviderApi = z.enum(['openai-completions', 'anthropic-messages']);
export type DesktopProviderApi = z.infer<typeof DesktopProviderApi>;
/** An API key on its way in: write-only, it is never part of any output. */
const ApiKey = z.string().trim().min(1).max(4096);
const HttpUrl = z.url({ protocol: /^https?$/, error: 'an http(s) URL' }).max(2048);

/** http(s) origins a browser sends (`http://127.0.0.1:1420`) or a paired extension's. */
export const DesktopOrigin = z.string().refine((value) => {
  if (/^chrome-extension:\/\/[a-p]{32}$/.test(value)) return true;
  try {
    const url = new URL(value);
    return url.origin === value && url.origin !== 'null';
  } catch {
    return false;
  }
}, 'an origin such as "http://127.0.0.1:1420" or "chrome-extension://<32-letter id>", without a path or trailing slash');

const LOOPBACK_HOSTS = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/;
/** The cloud's address: https, or plain http only to this machine (development), as the gateway's link requires. */
export const DesktopCloudUrl = HttpUrl.refine((value) => {
  const url = new URL(value);
  if (url.username || url.password || url.search || url.hash) return false;
  return url.protocol === 'https:' || LOOPBACK_HOSTS.test(url.hostname);
}, 'an https URL (plain http only to 127.0.0.1, ::1 or localhost), without user, query or fragment');

/** What the host knows of the local gateway. */
export const DesktopGatewayStatus = z.object({
  /** `running`: it answered with our token; `refusing`: something answers but refuses us; `stopped`: nothing answers. */
  state: z.enum(['running', 'refusing', 'stopped', 'starting']),
  /** Where the host looks for it (`http://127.0.0.1:18789`). */
  url: z.string(),
  port: z.number().int(),
  version: z.string().optional(),
  pid: z.number().int().optional(),
  uptimeMs: z.number().nonnegative().optional(),
  agents: z.number().int().nonnegative().optional(),
  providers: z.number().int().nonnegative().optional(),
  sessions: z.number().int().nonnegative().optional(),
  link: LinkStatus.optional(),
  /** Why it is not running or refuses, in words a person can act on. */
  reason: z.string().optional(),
});
export type DesktopGatewayStatus = z.infer<typeof DesktopGatewayStatus>;

export const DesktopAgentSummary = z.object({
  id: z.string(),
  name: z.string(),
  /** `provider/model`. */
  model: z.string(),
  /** Local agents are editable; a workspace agent (from the linked cloud) is read-only here. */
  editable: z.boolean(),
  /** A workspace agent's workspace (the one this computer's gateway is linked to); absent for a local agent. */
  workspaceId: Id.optional(),
});
export type DesktopAgentSummary = z.infer<typeof DesktopAgentSummary>;

/** A provider as the UI sees it: never its key, only whether it has one. */
export const DesktopProvider = z.strictObject({
  id: ProviderId,
  api: DesktopProviderApi,
  baseUrl: z.string(),
  hasKey: z.boolean(),
  allowedAgents: z.array(LocalAgentId),
});
export type DesktopProvider = z.infer<typeof DesktopProvider>;

export const DesktopHistoryMessage = z.object({
  id: z.string(),
  seq: z.number().int().positive(),
  role: z.enum(['system', 'user', 'assistant']),
  text: z.string(),
  /** Milliseconds since the epoch. */
  timestamp: z.number(),
  runId: z.string().optional(),
  /** How an assistant turn ended. */
  status: z.enum(['complete', 'aborted', 'error', 'interrupted']).optional(),
  errorMessage: z.string().optional(),
});
export type DesktopHistoryMessage = z.infer<typeof DesktopHistoryMessage>;

export const DesktopSessionSummary = z.object({
  key: z.string(),
  agentId: z.string(),
  title: z.string(),
  createdAt: z.number(),
  updatedAt: z.number(),
  messageCount: z.number().int().nonnegative(),
  damaged: z.boolean().optional(),
  /**
   * Where its finished messages go (docs/data-residency.md): the workspace this
   * gateway is linked to, or null when it stays on this computer.
   */
  sync: z.object({ workspaceId: Id }).nullable(),
});
export type DesktopSessionSummary = z.infer<typeof DesktopSessionSummary>;

export const DesktopSettings = z.strictObject({
  /** The MultiClaw Cloud this desktop signs in to (part 2); null: none chosen. */
  cloudUrl: DesktopCloudUrl.nullable(),
  /** Local-only: the desktop never contacts a cloud, whatever `cloudUrl` says. */
  localOnly: z.boolean(),
  /** `gateway.allowedOrigins` in openclaw.json: browser origins the gateway accepts. */
  gatewayAllowedOrigins: z.array(DesktopOrigin).max(64),
});
export type DesktopSettings = z.infer<typeof DesktopSettings>;

const AgentFields = {
  name: Text(100),
  model: ModelRef,
  systemPrompt: z.string().max(100_000).optional(),
  maxTokens: z.number().int().positive().max(1_000_000).optional(),
};

// ---- the command catalog ----------------------------------------------------

/**
 * Every command the UI may call: its input and its output. The host declares
 * each one's handler once (apps/desktop/src/commands/), against this table.
 */
export const DesktopCommands = {
  'gateway.status': { input: Empty, output: DesktopGatewayStatus },
  /** Spawns `multiclaw-gateway start` when none answers; the event stream says `gateway.up` when it does. */
  'gateway.start': {
    input: Empty,
    output: z.object({
      /** `started`: spawned now; `starting`: one spawned earlier has not answered yet; `running`: one answered already. */
      outcome: z.enum(['started', 'starting', 'running']),
      pid: z.number().int().optional(),
      /** Where the spawned gateway writes its output. */
      logFile: z.string().optional(),
    }),
  },

  'agents.list': {
    input: Empty,
    output: z.object({ defaultId: z.string().optional(), agents: z.array(DesktopAgentSummary) }),
  },
  /** A local agent's whole definition (system prompt, token limit), for its edit form. */
  'agents.get': { input: z.strictObject({ agentId: LocalAgentId }), output: z.object({ agent: LocalAgent }) },
  /** The id is derived from the name (as OpenClaw does); the model's provider must exist. */
  'agents.create': { input: z.strictObject(AgentFields), output: z.object({ agent: LocalAgent }) },
  'agents.update': {
    input: z.strictObject({
      agentId: LocalAgentId,
      name: AgentFields.name.optional(),
      model: ModelRef.optional(),
      /** null removes it. */
      systemPrompt: z.string().max(100_000).nullable().optional(),
      maxTokens: z.number().int().positive().max(1_000_000).nullable().optional(),
    }),
    output: z.object({ agent: LocalAgent }),
  },
  /** Also withdraws the agent's credential grants. */
  'agents.delete': {
    input: z.strictObject({ agentId: LocalAgentId }),
    output: z.object({ agentId: LocalAgentId, removedGrants: z.number().int().nonnegative() }),
  },

  'providers.list': { input: Empty, output: z.object({ providers: z.array(DesktopProvider) }) },
  'providers.add': {
    input: z.strictObject({
      id: ProviderId,
      api: DesktopProviderApi,
      baseUrl: HttpUrl,
      /** Absent for keyless local servers (Ollama, LM Studio…). */
      apiKey: ApiKey.optional(),
      allowedAgents: z.array(LocalAgentId).max(1000).default([]),
    }),
    output: z.object({ provider: DesktopProvider }),
  },
  'providers.replaceKey': {
    input: z.strictObject({ id: ProviderId, apiKey: ApiKey }),
    output: z.object({ provider: DesktopProvider }),
  },
  /** Removes the key only; the provider stays (keyless). */
  'providers.clearKey': {
    input: z.strictObject({ id: ProviderId }),
    output: z.object({ provider: DesktopProvider }),
  },
  /** Which agents may use this provider's key: the whole list, replacing the old one. */
  'providers.scope': {
    input: z.strictObject({ id: ProviderId, allowedAgents: z.array(LocalAgentId).max(1000) }),
    output: z.object({ provider: DesktopProvider }),
  },
  /** Refused while an agent's model still names it. */
  'providers.remove': {
    input: z.strictObject({ id: ProviderId }),
    output: z.object({ id: ProviderId }),
  },

  /** Starts a reply; it streams over the event stream (`chat.delta` … `chat.final`). */
  'chat.send': {
    input: z.strictObject({
      agentId: LocalAgentId,
      /** Absent: a new conversation. */
      sessionKey: SessionKey.optional(),
      message: z.string().min(1).max(200_000),
      /** Makes a retry safe: the same key never runs twice. Absent: the host makes one. */
      idempotencyKey: z.string().min(1).max(128).optional(),
    }),
    output: z.object({
      runId: z.string(),
      sessionKey: SessionKey,
      status: z.enum(['started', 'in_flight', 'ok', 'interrupted']),
    }),
  },
  'chat.abort': {
    input: z.strictObject({ sessionKey: SessionKey, runId: z.string().min(1).max(128).optional() }),
    output: z.object({ aborted: z.boolean() }),
  },
  /** Newest messages first in pages; `cursor` is the previous page's `nextCursor`. */
  'chat.history': {
    input: z.strictObject({
      sessionKey: SessionKey,
      limit: z.number().int().min(1).max(500).default(100),
      cursor: z
        .string()
        .regex(/^[1-9][0-9]{0,15}$/)
        .optional(),
    }),
    output: z.object({
      sessionKey: z.string(),
      messages: z.array(DesktopHistoryMessage),
      nextCursor: z.string().optional(),
    }),
  },
  'sessions.list': {
    input: z.strictObject({
      search: z.string().max(200).optional(),
      agentId: LocalAgentId.optional(),
      limit: z.number().int().min(1).max(200).default(50),
      offset: z.number().int().nonnegative().max(1_000_000).default(0),
    }),
    output: z.object({
      sessions: z.array(DesktopSessionSummary),
      total: z.number().int().nonnegative(),
      nextOffset: z.number().int().nonnegative().optional(),
    }),
  },
  'sessions.delete': {
    input: z.strictObject({ sessionKey: SessionKey }),
    output: z.object({ deleted: z.boolean() }),
  },

  'settings.get': { input: Empty, output: DesktopSettings },
  /** Only the fields given change. */
  'settings.update': { input: DesktopSettings.partial(), output: DesktopSettings },

  /** Where crash logs are kept (they never leave this machine). */
  'diagnostics.crashLogs': {
    input: Empty,
    output: z.object({
      desktop: z.object({ dir: z.string(), files: z.array(z.string()) }),
      gateway: z.object({ dir: z.string(), files: z.array(z.string()) }),
    }),
  },

  /** Browser recordings the extension made, kept by the gateway (docs/extension.md). */
  'recordings.list': { input: Empty, output: z.object({ items: z.array(RecordingSummary) }) },
  'recordings.get': { input: z.strictObject({ id: Id }), output: z.object({ recording: Recording }) },
  'recordings.rename': {
    input: z.strictObject({ id: Id, name: RecordingName }),
    output: z.object({ recording: RecordingSummary }),
  },
  'recordings.delete': { input: z.strictObject({ id: Id }), output: z.object({ deleted: z.literal(true) }) },
  /** Attach to an agent as a skill: its steps join that agent's system prompt. */
  'recordings.attach': {
    input: z.strictObject({ id: Id, agentId: LocalAgentId }),
    output: z.object({ recording: RecordingSummary }),
  },
  'recordings.detach': {
    input: z.strictObject({ id: Id, agentId: LocalAgentId }),
    output: z.object({ recording: RecordingSummary }),
  },
  /** Writes `multiclaw.recording/1` JSON to a 0600 file the host chooses (in ~/Downloads when it exists) and says where. */
  'recordings.export': { input: z.strictObject({ id: Id }), output: z.object({ path: z.string() }) },
  /** A one-time pairing code (minutes, single use) to type into the extension's popup. */
  'extension.pairingCode': { input: Empty, output: PairingCode },
  'extension.list': { input: Empty, output: z.object({ items: z.array(ExtensionPairingSummary) }) },
  /** Revokes a paired extension now: its token stops working and its origin leaves the allowlist. */
  'extension.unpair': { input: z.strictObject({ id: Id }), output: z.object({ revoked: z.boolean() }) },

  /**
   * The gateway's signed updates (docs/releasing.md), only when the person
   * asks: `not-configured` when openclaw.json names no update feed (nothing is
   * contacted). A refused release is `UPDATE_REFUSED` with `details.reason`.
   */
  'updates.check': {
    input: Empty,
    output: z.discriminatedUnion('status', [
      z.object({ status: z.literal('not-configured') }),
      z.object({ status: z.literal('up-to-date'), version: z.string() }),
      z.object({
        status: z.literal('available'),
        version: z.string(),
        channel: z.string(),
        expires: z.string(),
      }),
    ]),
  },
  /** Downloads, verifies, installs and test-starts the newer gateway; the running gateway keeps its version until restarted. */
  'updates.apply': {
    input: Empty,
    output: z.discriminatedUnion('status', [
      z.object({ status: z.literal('not-configured') }),
      z.object({ status: z.literal('up-to-date'), version: z.string() }),
      z.object({ status: z.literal('installed'), version: z.string(), previous: z.string() }),
    ]),
  },

  /** The cloud session and the workspace commands (desktop-cloud.ts). */
  ...DesktopCloudCommands,
} as const satisfies Record<string, { input: z.ZodType; output: z.ZodType }>;

export type DesktopCommand = keyof typeof DesktopCommands;
export const DESKTOP_COMMANDS = Object.keys(DesktopCommands) as DesktopCommand[];
export type DesktopCommandInput<C extends DesktopCommand> = z.input<(typeof DesktopCommands)[C]['input']>;
export type DesktopCommandOutput<C extends DesktopCommand> = z.infer<(typeof DesktopCommands)[C]['output']>;

export function isDesktopCommand(name: string): name is DesktopCommand {
  return Object.hasOwn(DesktopCommands, name);
}

// ---- the event stream (`/ipc/events`) ------------------------------------------

/** Fields every chat event carries: which run of which conversation, and its order. */
const ChatRun = { runId: z.string(), sessionKey: z.string(), agentId: z.string(), seq: z.number().int() };

/**
 * Frames the UI sends: `WsEnvelope`s (ws.ts). The first must be
 * `auth.secret` with the window secret (never a secret in the URL).
 */
export const DesktopEventsFromUi = {
  'auth.secret': z.strictObject({ secret: z.string().min(1).max(256) }),
} as const;

/** Frames the host sends: `WsEnvelope`s whose `type` is one of these. */
export const DesktopEventsToUi = {
  /** The secret was accepted; events follow. Carries the gateway's state right now. */
  'events.ready': z.object({ gateway: DesktopGatewayStatus }),
  /** The gateway answers (again), e.g. after `gateway.start`. */
  'gateway.up': z.object({ gateway: DesktopGatewayStatus }),
  /** The gateway stopped answering. */
  'gateway.down': z.object({ gateway: DesktopGatewayStatus }),
  /** A piece of a streaming reply; `text` is the reply so far. */
  'chat.delta': z.object({ ...ChatRun, delta: z.string(), text: z.string() }),
  'chat.final': z.object({ ...ChatRun, text: z.string() }),
  /** Stopped by `chat.abort`, or cut off when the gateway stopped (`interrupted`). */
  'chat.aborted': z.object({ ...ChatRun, text: z.string(), reason: z.enum(['aborted', 'interrupted']) }),
  'chat.error': z.object({
    ...ChatRun,
    message: z.string(),
    /** Our error code when the gateway gave one (docs/errors.md). */
    code: ErrorCode.optional(),
    text: z.string(),
  }),
  ...DesktopCloudEventsToUi,
} as const;
export type DesktopEventType = keyof typeof DesktopEventsToUi;
export type DesktopEvent = {
  [T in DesktopEventType]: { type: T; payload: z.infer<(typeof DesktopEventsToUi)[T]> };
}[DesktopEventType];
