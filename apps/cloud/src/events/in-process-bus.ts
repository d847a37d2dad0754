import { encodeBusMessage } from './bus-message.js';
import type { BusMessage, EventBus } from './event-bus.js';
import { type BusLogger, createListeners } from './listeners.js';

/**
 * The bus of a single instance (EVENT_BUS=memory): no transport, yet the same
 * contract as the others. A message is encoded and decoded as it would be on
 * the wire (the same size limit, a fresh copy per delivery) and delivered on
 * a later turn of the event loop, after `publish` resolved, as a network bus
 * would.
 */
export function createInProcessBus(options: { logger: BusLogger }): EventBus {
  const listeners = createListeners(options.logger);
  let closed = false;

  return {
    async publish(message) {
      if (closed) throw new Error('event bus is closed');
      const text = encodeBusMessage(message);
      setImmediate(() => {
        // Validated by encodeBusMessage: what comes back is a plain copy, not input from outside.
        if (!closed) listeners.deliver(JSON.parse(text) as BusMessage);
      });
    },
    subscribe: listeners.subscribe,
    // Nothing to lose between two calls in one process: it never reconnects.
    onReconnect: listeners.onReconnect,
    async close() {
      closed = true;
      listeners.clear();
    },
  };
}
