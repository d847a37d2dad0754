/**
 * The messages between the extension's parts. Pages cannot send any of them:
 * `externally_connectable` lists no ids and no matches, and the service worker
 * checks every sender (background/senders.ts).
 */

/** What the content script reports: a step without the parts the service worker adds (seq, tab). */
export type CapturedStep =
  | { kind: 'click' | 'submit'; selector: string; role: string; text: string; url: string; at: number }
  | {
      kind: 'input';
      selector: string;
      role: string;
      text: string;
      url: string;
      at: number;
      masked: boolean;
      value?: string;
    };

export type ContentToWorker = { type: 'session?' } | { type: 'step'; step: CapturedStep };

/** The name of the port a recording frame holds open to the worker (content/worker-channel.ts). */
export const RECORDER_PORT = 'recorder';

export type PopupToWorker =
  | { type: 'status?' }
  | { type: 'pair'; port: number; code: string }
  | { type: 'unpair' }
  | { type: 'start'; name?: string }
  | { type: 'stop' }
  | { type: 'settings'; crossOriginFrames: boolean };

/** Sent by the worker to every frame of every tab when a session starts or stops. */
export interface SessionBroadcast {
  type: 'session';
  active: boolean;
  crossOriginFrames: boolean;
}

export interface PopupStatus {
  paired: boolean;
  port: number;
  recording: boolean;
  steps: number;
  pending: number;
  delivery: import('./state.js').DeliveryState;
  crossOriginFrames: boolean;
}
