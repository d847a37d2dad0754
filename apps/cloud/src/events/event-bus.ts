import type { RealtimeEvent } from '@multiclaw/protocol';

/**
 * What one cloud instance tells every instance (DESIGN.md §7): the events
 * desktops see, and the internal signals that must reach whichever instance
 * holds a socket (a gateway revoked, a session ended, a membership ended).
 * The cloud keeps no state besides Postgres: an instance learns of a change
 * made on another only through this bus.
 */
export type BusMessage =
  | { type: 'realtime'; event: RealtimeEvent }
  /** Close this gateway's link socket (4403) wherever it is held. */
  | { type: 'gateway.revoked'; gatewayId: string; workspaceId: string }
  /** Close this session's real-time sockets wherever they are held. */
  | { type: 'session.ended'; sessionId: string; userId: string }
  /** A person left (or was removed from) a workspace: drop their sockets' subscription, close their gateways' links. */
  | { type: 'membership.ended'; workspaceId: string; userId: string }
  /** The workspace's agents changed: linked gateways get a fresh `config.agents`. */
  | { type: 'agents.changed'; workspaceId: string };

export type BusListener = (message: BusMessage) => void;

export interface EventBus {
  /** Delivers to every instance's subscribers, this one included. Resolves once handed to the transport. */
  publish(message: BusMessage): Promise<void>;
  /** Returns the unsubscribe function. */
  subscribe(listener: BusListener): () => void;
  /**
   * Called after the transport came back from a break (a dropped LISTEN
   * connection, a NATS reconnect): messages sent meanwhile are lost, so a
   * subscriber that caches what messages invalidate re-reads it. Returns the
   * unsubscribe function.
   */
  onReconnect(listener: () => void): () => void;
  close(): Promise<void>;
}
