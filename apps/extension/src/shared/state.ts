import type { RecordedStep } from '@multiclaw/protocol';

/**
 * What the extension keeps, and where (docs/extension.md, "Where data goes"):
 * - `storage.session` (memory only, gone when the browser quits; only the
 *   extension's own pages and worker can read it): the recording session.
 * - `storage.local`: the pairing, the settings, the outbox of steps not yet
 *   delivered (at most 7 days), and the delivery state the popup shows.
 */
export const KEYS = {
  session: 'session',
  pairing: 'pairing',
  settings: 'settings',
  outbox: 'outbox',
  delivery: 'delivery',
} as const;

export const DEFAULT_GATEWAY_PORT = 18789;
/** Undelivered steps older than this are dropped (and the popup says so). */
export const OUTBOX_MAX_AGE_MS = 7 * 24 * 60 * 60 * 1000;

/** Owned by the service worker; every other part asks it. */
export type SessionState =
  | { active: false }
  | { active: true; recordingId: string; startedAt: number; name: string; nextSeq: number };

export interface Pairing {
  port: number;
  pairingId: string;
  token: string;
}

export interface Settings {
  /** Record inside frames of other origins than their page (off by default). */
  crossOriginFrames: boolean;
}
export const DEFAULT_SETTINGS: Settings = { crossOriginFrames: false };

/** One step waiting for the gateway. */
export interface OutboxItem {
  recordingId: string;
  name: string;
  startedAt: number;
  queuedAt: number;
  step: RecordedStep;
}

export interface DeliveryState {
  state: 'idle' | 'delivering' | 'delivered' | 'gateway unreachable' | 'not paired' | 'refused';
  detail?: string;
  lastDeliveredAt?: number;
  /** Steps dropped after waiting 7 days, and when that last happened. */
  dropped: number;
  droppedAt?: number;
}
export const INITIAL_DELIVERY: DeliveryState = { state: 'idle', dropped: 0 };
