import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { ManagedEventBus } from '../events/create-event-bus.js';
import type { EventBus } from '../events/event-bus.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** What this instance tells every instance, and hears from them (events/event-bus.ts). */
    bus: EventBus;
  }
}

/**
 * Shares the app's one event bus. Starting waits for the bus's first
 * connection, so an instance that is up hears the others from its first
 * request; if that fails the app starts anyway (as it does without its
 * database, answering /readyz with 503) and the bus keeps reconnecting.
 */
export const eventBusPlugin = fp<{ bus: ManagedEventBus }>(
  async (app: FastifyInstance, { bus }) => {
    app.decorate('bus', bus);
    app.addHook('onReady', async () => {
      try {
        await bus.ready();
      } catch (error) {
        app.log.error({ err: error }, 'event bus: not connected yet; retrying in the background');
      }
    });
    app.addHook('onClose', () => bus.close());
  },
  { name: 'event-bus' },
);
