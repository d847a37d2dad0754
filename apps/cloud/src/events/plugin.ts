import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { ManagedEventBus } from './create-event-bus.js';
import type { EventBus } from './event-bus.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** What this instance tells every instance, and hears from them (events/event-bus.ts). */
    bus: EventBus;
  }
}

/**
 * Shares the app's one event bus. The app does not count as ready until the
 * bus can hear other instances (an instance that missed their messages would
 * serve stale sockets), and closes it last.
 */
export const eventBusPlugin = fp<{ bus: ManagedEventBus }>(
  async (app: FastifyInstance, { bus }) => {
    app.decorate('bus', bus);
    app.addHook('onReady', () => bus.ready());
    app.addHook('onClose', () => bus.close());
  },
  { name: 'event-bus' },
);
