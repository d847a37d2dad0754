import { z } from 'zod';
import { LocalAgentId } from './gateway.js';
import { Id, Timestamp } from './ids.js';

/**
 * Browser recordings (docs/extension.md): what the Chrome extension sends the
 * local gateway, what the gateway stores, and the control-protocol methods
 * the desktop and the CLI use to list, view, rename, delete, export and
 * attach them, and to pair and unpair the extension.
 */

// ---- steps: what one recorded interaction is ---------------------------------

const Url = z.string().max(4096);
const Text = z.string().max(500);
/** Where in the page: a CSS selector the content script built to find the element again. */
const Selector = z.string().min(1).max(1000);

const StepBase = {
  /** Per recording, from 1, in the order the service worker received the events. */
  seq: z.number().int().positive(),
  /** When it happened, milliseconds since the epoch (the browser's clock). */
  at: z.number().int().nonnegative(),
  /** The browser's tab id: a recording follows the person across tabs. */
  tabId: z.number().int(),
  url: Url,
};

const Target = {
  selector: Selector,
  /** The ARIA role (explicit or implied by the tag). */
  role: z.string().max(100),
  /** Visible text or accessible name, trimmed and cut to 200 characters. */
  text: Text,
};

export const ClickStep = z.strictObject({ kind: z.literal('click'), ...StepBase, ...Target });

/**
 * The final value of a field (on change). A masked field — password, one-time
 * code, card data, names like token/secret/ssn — carries `masked: true` and no
 * value at all: its value never leaves the page.
 */
export const InputStep = z.union([
  z.strictObject({
    kind: z.literal('input'),
    ...StepBase,
    ...Target,
    masked: z.literal(false),
    value: z.string().max(10_000),
  }),
  z.strictObject({ kind: z.literal('input'), ...StepBase, ...Target, masked: z.literal(true) }),
]);

export const SubmitStep = z.strictObject({ kind: z.literal('submit'), ...StepBase, ...Target });
export const NavigationStep = z.strictObject({
  kind: z.literal('navigation'),
  ...StepBase,
  title: Text,
});
export const TabSwitchStep = z.strictObject({ kind: z.literal('tab-switch'), ...StepBase, title: Text });

export const RecordedStep = z.union([ClickStep, InputStep, SubmitStep, NavigationStep, TabSwitchStep]);
export type RecordedStep = z.infer<typeof RecordedStep>;

export const RecordingName = z.string().trim().min(1).max(200);

// ---- extension → gateway (HTTP) ----------------------------------------------

/** `POST /v1/extension/pair`: the code the person typed into the popup. */
export const ExtensionPairRequest = z.strictObject({ code: z.string().trim().min(6).max(12) });
export const ExtensionPairResponse = z.object({
  pairingId: Id,
  /** Scope `recordings:write` only; shown once, stored hashed by the gateway. */
  token: z.string(),
  scope: z.literal('recordings:write'),
});
export type ExtensionPairResponse = z.infer<typeof ExtensionPairResponse>;

/** At most this many steps per batch (the extension sends more in several). */
export const MAX_STEPS_PER_BATCH = 500;

/**
 * `POST /v1/extension/recordings/:recordingId/steps`: the recording is created
 * by its first batch. Steps whose seq is already stored are skipped, so a
 * batch resent after a lost answer is stored once.
 */
export const RecordingStepsRequest = z.strictObject({
  name: RecordingName.optional(),
  startedAt: z.number().int().nonnegative(),
  steps: z.array(RecordedStep).max(MAX_STEPS_PER_BATCH),
});
export type RecordingStepsRequest = z.infer<typeof RecordingStepsRequest>;
export const RecordingStepsResponse = z.object({
  recordingId: Id,
  /** The highest seq stored for this recording. */
  lastSeq: z.number().int().nonnegative(),
  stored: z.number().int().nonnegative(),
});
export type RecordingStepsResponse = z.infer<typeof RecordingStepsResponse>;

// ---- gateway → desktop / CLI (control protocol) ------------------------------

export const RecordingSummary = z.object({
  id: Id,
  name: z.string(),
  startedAt: Timestamp,
  updatedAt: Timestamp,
  stepCount: z.number().int().nonnegative(),
  /** Agents this recording is attached to as a skill. */
  agentIds: z.array(z.string()),
  /** The paired extension that recorded it. */
  pairingId: Id,
});
export type RecordingSummary = z.infer<typeof RecordingSummary>;

export const Recording = RecordingSummary.extend({ steps: z.array(RecordedStep) });
export type Recording = z.infer<typeof Recording>;

/** What `multiclaw.recordings.export` answers: a self-describing JSON document. */
export const RecordingExport = z.object({
  format: z.literal('multiclaw.recording/1'),
  recording: Recording.omit({ pairingId: true }),
});
export type RecordingExport = z.infer<typeof RecordingExport>;

export const ExtensionPairingSummary = z.object({
  id: Id,
  /** The exact `chrome-extension://<id>` origin added to gateway.allowedOrigins. */
  origin: z.string(),
  pairedAt: Timestamp,
});
export type ExtensionPairingSummary = z.infer<typeof ExtensionPairingSummary>;

export const PairingCode = z.object({ code: z.string(), expiresAt: Timestamp });
export type PairingCode = z.infer<typeof PairingCode>;

const RecordingRef = z.strictObject({ id: Id });

/** Our control-protocol methods for recordings and the extension (scopes: apps/gateway/src/recordings/method-scopes.ts). */
export const RecordingMethods = {
  'multiclaw.extension.pairingCode': { params: z.strictObject({}).optional() },
  'multiclaw.extension.list': { params: z.strictObject({}).optional() },
  'multiclaw.extension.unpair': { params: z.strictObject({ id: Id }) },
  'multiclaw.recordings.list': { params: z.strictObject({}).optional() },
  'multiclaw.recordings.get': { params: RecordingRef },
  'multiclaw.recordings.rename': { params: z.strictObject({ id: Id, name: RecordingName }) },
  'multiclaw.recordings.delete': { params: RecordingRef },
  'multiclaw.recordings.export': { params: RecordingRef },
  'multiclaw.recordings.attach': { params: z.strictObject({ id: Id, agentId: LocalAgentId }) },
  'multiclaw.recordings.detach': { params: z.strictObject({ id: Id, agentId: LocalAgentId }) },
} as const;
