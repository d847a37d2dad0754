import type { Config } from '../config.js';
import type { EventBus } from './event-bus.js';
import { createInProcessBus } from './in-process-bus.js';
import type { BusLogger } from './listeners.js';
import { createNatsBus } from './nats-bus.js';
import { createPostgresBus } from './postgres-bus.js';

/** A bus the app owns: `ready` resolves once it can hear other instances (or rejects, saying why). */
export type ManagedEventBus = EventBus & { ready(): Promise<void> };

/** The bus EVENT_BUS names. */
export function createEventBus(options: {
  config: Pick<Config, 'eventBus' | 'databaseUrl'>;
  logger: BusLogger;
}): ManagedEventBus {
  const { config, logger } = options;
  switch (config.eventBus.kind) {
    case 'postgres':
      return createPostgresBus({ databaseUrl: config.databaseUrl, logger });
    case 'nats':
      return createNatsBus({ url: config.eventBus.natsUrl, subject: config.eventBus.natsSubject, logger });
    case 'memory':
      return Object.assign(createInProcessBus({ logger }), { ready: async () => {} });
  }
}
