import type { LinkStatus as LinkStatusWire, SyncAck, SyncBatch } from '@multiclaw/protocol';

/**
 * What the rest of the gateway sees of the cloud link (DESIGN.md §7): its
 * state for `status`, one request/reply call for the sync outbox, and events.
 *
 * For the sync outbox:
 * - `request('sync.batch', batch)` sends one batch and resolves with the
 *   cloud's `sync.ack` for it. It rejects with a `LinkUnavailableError` when
 *   the link is not online, or goes down before the ack arrives (the batch may
 *   or may not have been applied: resend it after the next `online`; applying
 *   is idempotent), and with an `ApiError` carrying the cloud's code when the
 *   cloud answers `link.error`.
 * - `online` fires each time a connection is ready (after `link.ready`): send
 *   what the outbox holds. `offline` fires when it drops (the link reconnects
 *   by itself). `unlinked` fires once when the link ends for good: the person
 *   ran `unlink` (`reason: 'unlinked'`) or the cloud revoked the gateway or
 *   ended the person's membership (`reason: 'revoked'`); drop that
 *   workspace's pending outbox.
 */
export interface CloudLink {
  status(): LinkStatus;
  request(type: 'sync.batch', payload: SyncBatch): Promise<SyncAck>;
  on<E extends keyof CloudLinkEvents>(event: E, listener: (detail: CloudLinkEvents[E]) => void): () => void;
}

export interface CloudLinkEvents {
  online: { gatewayId: string; workspaceId: string };
  offline: { gatewayId: string; workspaceId: string; reason: string };
  unlinked: { gatewayId: string; workspaceId: string; reason: 'unlinked' | 'revoked' };
}

export type LinkStateName = LinkStatusWire['state'];

/** `status --json`'s `link` object: the protocol's LinkStatus and a few local details. */
export type LinkStatus = LinkStatusWire & {
  linkedAt?: string;
  /** When the state last changed (ISO time). */
  since?: string;
  /** The workspace agents this gateway holds now. */
  workspaceAgents?: number;
};

/** The link is not online (or went down before the reply came): try again after `online`. */
export class LinkUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LinkUnavailableError';
  }
}
