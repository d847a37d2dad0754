import pg from 'pg';
import { createBackoff } from './backoff.js';
import { decodeBusMessage, encodeBusMessage } from './bus-message.js';
import type { ManagedEventBus } from './create-event-bus.js';
import { type BusLogger, createListeners } from './listeners.js';

/** The one channel every instance of a deployment listens on (per database: NOTIFY does not cross databases). */
export const POSTGRES_BUS_CHANNEL = 'multiclaw_events';
/** The most notifications one publishing statement carries. */
const MAX_NOTIFY_BATCH = 500;

export type PostgresBusOptions = {
  databaseUrl: string;
  logger: BusLogger;
  /** Connections that publish (NOTIFY); one more LISTENs. */
  publishConnections?: number;
  /** A listening connection that does not answer a ping in time is taken for dead and replaced. */
  pingIntervalMs?: number;
  pingTimeoutMs?: number;
  backoff?: { initialMs: number; maxMs: number };
};

/**
 * The default bus across instances (EVENT_BUS=postgres): PostgreSQL
 * LISTEN/NOTIFY, no infrastructure beyond the database. Each instance holds
 * one dedicated connection that LISTENs and a small pool of its own that
 * publishes (a parameterised `pg_notify`, cheaper than a query through the
 * ORM, which matters at a thousand events a second). One publishing statement
 * is in flight at a time: messages published meanwhile go out together in the
 * next one (one notification each, in order; PostgreSQL folds byte-identical
 * ones within a statement into one, which for these messages, facts about ids, says
 * the same), so under load the database sees a statement per round trip,
 * not per event. A NOTIFY reaches every
 * listening instance (this one included) once it commits. Notifications sent while the connection is down are lost, so a
 * dropped connection is replaced with back-off, re-LISTENs, and tells
 * `onReconnect` subscribers to re-check what they cache.
 */
export function createPostgresBus(options: PostgresBusOptions): ManagedEventBus {
  const { databaseUrl, logger, pingIntervalMs = 30_000, pingTimeoutMs = 10_000 } = options;
  const listeners = createListeners(logger);
  const publisher = new pg.Pool({
    connectionString: databaseUrl,
    max: options.publishConnections ?? 2,
    keepAlive: true,
    application_name: 'multiclaw-cloud event bus (publish)',
  });
  // A pooled connection that drops while idle is replaced on next use; it must not crash the process.
  publisher.on('error', (error) => logger.warn({ err: error }, 'event bus: a publishing connection dropped'));
  const backoff = createBackoff(options.backoff ?? { initialMs: 100, maxMs: 5_000 });
  let closed = false;
  let current: pg.Client | undefined;
  let connectedBefore = false;
  let retry: NodeJS.Timeout | undefined;
  let ping: NodeJS.Timeout | undefined;

  let settleFirst: { resolve: () => void; reject: (error: Error) => void } | undefined;
  const firstConnection = new Promise<void>((resolve, reject) => {
    settleFirst = { resolve, reject };
  });
  // Nobody may ever ask (a script that never calls ready): an unobserved rejection must not crash.
  firstConnection.catch(() => {});

  /** Messages waiting for the next publishing statement. */
  const waiting: Array<{ payload: string; resolve: () => void; reject: (error: unknown) => void }> = [];
  let publishing = false;

  function flush() {
    if (publishing || waiting.length === 0) return;
    publishing = true;
    const batch = waiting.splice(0, MAX_NOTIFY_BATCH);
    publisher
      .query(
        'SELECT pg_notify($1, payload) FROM unnest($2::text[]) WITH ORDINALITY AS m(payload, n) ORDER BY n',
        [POSTGRES_BUS_CHANNEL, batch.map((entry) => entry.payload)],
      )
      .then(
        () => {
          for (const entry of batch) entry.resolve();
        },
        (error: unknown) => {
          for (const entry of batch) entry.reject(error);
        },
      )
      .finally(() => {
        publishing = false;
        flush();
      });
  }

  function onNotification(message: pg.Notification) {
    if (message.channel !== POSTGRES_BUS_CHANNEL || message.payload === undefined) return;
    const decoded = decodeBusMessage(message.payload);
    if (decoded) listeners.deliver(decoded);
    else logger.warn('event bus: ignored a malformed notification');
  }

  /** Forgets a connection that failed, and schedules the next one. */
  function dropped(client: pg.Client, error: unknown) {
    if (current !== client) return; // already handled (error and end both fire)
    current = undefined;
    clearInterval(ping);
    client.removeAllListeners('notification');
    client.end().catch(() => {});
    if (closed) return;
    const delayMs = backoff.next();
    logger.warn(
      { err: error, retryInMs: delayMs },
      'event bus: the PostgreSQL LISTEN connection dropped; reconnecting (events sent meanwhile are lost)',
    );
    retry = setTimeout(connect, delayMs);
  }

  function watch(client: pg.Client) {
    ping = setInterval(() => {
      const timeout = setTimeout(
        () => dropped(client, new Error(`no answer to a ping within ${pingTimeoutMs} ms`)),
        pingTimeoutMs,
      );
      client.query('SELECT 1').then(
        () => clearTimeout(timeout),
        (error: unknown) => {
          clearTimeout(timeout);
          dropped(client, error);
        },
      );
    }, pingIntervalMs);
    ping.unref();
  }

  async function connect() {
    retry = undefined;
    if (closed) return;
    const client = new pg.Client({
      connectionString: databaseUrl,
      keepAlive: true,
      application_name: 'multiclaw-cloud event bus',
    });
    current = client;
    client.on('notification', onNotification);
    client.on('error', (error) => dropped(client, error));
    client.on('end', () => dropped(client, new Error('connection ended')));
    try {
      await client.connect();
      await client.query(`LISTEN ${POSTGRES_BUS_CHANNEL}`);
    } catch (error) {
      settleFirst?.reject(
        new Error(`event bus: cannot LISTEN on PostgreSQL (${(error as Error).message})`, { cause: error }),
      );
      settleFirst = undefined;
      dropped(client, error);
      return;
    }
    if (current !== client || closed) return;
    backoff.reset();
    watch(client);
    if (connectedBefore) {
      logger.info('event bus: listening on PostgreSQL again');
      listeners.reconnected();
    }
    connectedBefore = true;
    settleFirst?.resolve();
    settleFirst = undefined;
  }

  void connect();

  return {
    async publish(message) {
      if (closed) throw new Error('event bus is closed');
      const payload = encodeBusMessage(message);
      await new Promise<void>((resolve, reject) => {
        waiting.push({ payload, resolve, reject });
        flush();
      });
    },
    subscribe: listeners.subscribe,
    onReconnect: listeners.onReconnect,
    ready: () => firstConnection,
    async close() {
      if (closed) return;
      closed = true;
      clearTimeout(retry);
      clearInterval(ping);
      listeners.clear();
      const client = current;
      current = undefined;
      settleFirst?.reject(new Error('event bus closed before it connected'));
      await Promise.all([client?.end().catch(() => {}), publisher.end().catch(() => {})]);
    },
  };
}
