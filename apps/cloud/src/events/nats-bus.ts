import { type ConnectionOptions, connect, Events, type NatsConnection } from 'nats';
import { decodeBusMessage, encodeBusMessage } from './bus-message.js';
import type { ManagedEventBus } from './create-event-bus.js';
import { type BusLogger, createListeners } from './listeners.js';

/** The subject every instance of a deployment publishes and subscribes on, unless NATS_SUBJECT names another. */
export const NATS_BUS_SUBJECT = 'multiclaw.events';

/**
 * The bus on NATS (EVENT_BUS=nats): core publish/subscribe on one subject,
 * fire-and-forget like NOTIFY (no JetStream: a missed message is re-checked,
 * not replayed). The official client reconnects by itself, forever, and
 * re-subscribes; after each reconnect `onReconnect` subscribers re-check what
 * they cache, since messages sent during the break are lost.
 */
export function createNatsBus(options: {
  url: string;
  logger: BusLogger;
  /** Two deployments sharing a NATS server each need their own. */
  subject?: string;
  name?: string;
}): ManagedEventBus {
  const { logger, subject = NATS_BUS_SUBJECT } = options;
  const listeners = createListeners(logger);
  let closed = false;
  const server = describeServer(options.url);

  const connection: Promise<NatsConnection> = connect({
    ...connectionOptions(options.url),
    name: options.name ?? 'multiclaw-cloud',
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1_000,
  }).catch((error: unknown) => {
    throw new Error(`event bus: cannot connect to NATS at ${server} (${(error as Error).message})`, {
      cause: error,
    });
  });
  // Nobody may ever ask (a script that never calls ready): an unobserved rejection must not crash.
  connection.catch(() => {});

  void connection.then(
    (nc) => {
      if (closed) return;
      nc.subscribe(subject, {
        callback: (error, message) => {
          if (error) {
            logger.warn({ err: error }, 'event bus: NATS subscription error');
            return;
          }
          const decoded = decodeBusMessage(message.string());
          if (decoded) listeners.deliver(decoded);
          else logger.warn('event bus: ignored a malformed NATS message');
        },
      });
      void watchStatus(nc);
    },
    () => {},
  );

  async function watchStatus(nc: NatsConnection) {
    for await (const status of nc.status()) {
      if (status.type === Events.Disconnect) {
        logger.warn(
          { server },
          'event bus: NATS connection lost; reconnecting (events sent meanwhile are lost)',
        );
      } else if (status.type === Events.Reconnect) {
        // A round trip first: the server has then taken our subscription again, so whoever
        // re-reads on `reconnected` hears every event published from then on.
        try {
          await nc.flush();
        } catch {
          continue; // lost again: the next Reconnect says so
        }
        logger.info({ server }, 'event bus: connected to NATS again');
        listeners.reconnected();
      }
    }
  }

  return {
    async publish(message) {
      if (closed) throw new Error('event bus is closed');
      const text = encodeBusMessage(message);
      (await connection).publish(subject, text);
    },
    subscribe: listeners.subscribe,
    onReconnect: listeners.onReconnect,
    async ready() {
      await connection;
    },
    async close() {
      if (closed) return;
      closed = true;
      listeners.clear();
      const nc = await connection.catch(() => undefined);
      // drain: what was published goes out before the connection closes.
      await nc?.drain().catch(() => nc.close());
    },
  };
}

/** nats://[user:password@]host:port, or tls:// to require TLS. */
function connectionOptions(raw: string): ConnectionOptions {
  const url = new URL(raw);
  const port = url.port || '4222';
  return {
    servers: `${url.hostname}:${port}`,
    ...(url.username ? { user: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { pass: decodeURIComponent(url.password) } : {}),
    ...(url.protocol === 'tls:' ? { tls: {} } : {}),
  };
}

/** For log lines: never the credentials. */
function describeServer(raw: string): string {
  const url = new URL(raw);
  return `${url.protocol}//${url.hostname}:${url.port || '4222'}`;
}
