import type { Logger } from 'pino';
import type { BusListener, BusMessage } from './event-bus.js';

export type BusLogger = Pick<Logger, 'error' | 'warn' | 'info'>;

/**
 * The subscriber side every bus shares: who listens, and handing a message
 * (or a reconnect) to each. One listener's failure is logged and never keeps
 * the message from the others.
 */
export function createListeners(logger: BusLogger) {
  const listeners = new Set<BusListener>();
  const reconnectListeners = new Set<() => void>();

  function guarded(run: () => void, what: string) {
    try {
      run();
    } catch (error) {
      logger.error({ err: error }, `event bus: a ${what} listener failed`);
    }
  }

  return {
    subscribe(listener: BusListener): () => void {
      // A wrapper per subscription, so the same function subscribed twice is two subscriptions.
      const entry: BusListener = (message) => listener(message);
      listeners.add(entry);
      return () => listeners.delete(entry);
    },
    onReconnect(listener: () => void): () => void {
      const entry = () => listener();
      reconnectListeners.add(entry);
      return () => reconnectListeners.delete(entry);
    },
    deliver(message: BusMessage): void {
      for (const listener of listeners) guarded(() => listener(message), 'message');
    },
    reconnected(): void {
      for (const listener of reconnectListeners) guarded(listener, 'reconnect');
    },
    clear(): void {
      listeners.clear();
      reconnectListeners.clear();
    },
  };
}
