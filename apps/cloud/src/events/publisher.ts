import type { RealtimeEvent, RealtimeEventKind } from '@multiclaw/protocol';
import type { BusMessage, EventBus } from './event-bus.js';
import type { BusLogger } from './listeners.js';

/**
 * What a service uses to announce a change, after its transaction committed.
 * Never rejects: the change already happened, and a lost announcement costs
 * a client a refresh (sockets re-check what they cache), never the change.
 */
export type EventPublisher = { publish(...messages: BusMessage[]): Promise<void> };

export function createEventPublisher(bus: Pick<EventBus, 'publish'>, logger: BusLogger): EventPublisher {
  return {
    async publish(...messages) {
      await Promise.all(
        messages.map((message) =>
          bus.publish(message).catch((error: unknown) => {
            logger.warn({ err: error, type: message.type }, 'event bus: could not announce a change');
          }),
        ),
      );
    },
  };
}

type EventIds = Omit<RealtimeEvent, 'workspaceId' | 'kind' | 'at'>;

/** A real-time event for the desktops of a workspace's members (ids only, never content). */
export function realtime(kind: RealtimeEventKind, workspaceId: string, ids: EventIds, at: Date): BusMessage {
  return { type: 'realtime', event: { workspaceId, kind, at: at.toISOString(), ...ids } };
}
