import type { Config } from '../config.js';
import type { EventBus } from './event-bus.js';
import { createInProcessBus } from './in-process-bus.js';
import type { BusLogger } from './listeners.js';

/** A bus the app owns: `ready` resolves once it can hear other instances (or rejects, saying why). */
export type ManagedEventBus = EventBus & { ready(): Promise<void> };

/** The bus EVENT_BUS names. */
export function createEventBus(options: {
  config: Pick<Config, 'eventBus' | 'databaseUrl'>;
  logger: BusLogger;
}): ManagedEventBus {
  const { logger } = options;
  // The PostgreSQL and NATS buses are still being built; until then every choice is in-process.
  return withReady(createInProcessBus({ logger }));
}

function withReady(bus: EventBus): ManagedEventBus {
  return Object.assign(bus, { ready: async () => {} });
}
