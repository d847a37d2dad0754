import { createLogger } from '@multiclaw/runtime/logger';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/database.js';
import { agentsChanged, busContract, nextMatching } from './bus-contract.js';
import type { ManagedEventBus } from './create-event-bus.js';
import { createPostgresBus, POSTGRES_BUS_CHANNEL } from './postgres-bus.js';

const logger = createLogger({ level: 'silent' });
let database: TestDatabase;
let admin: pg.Client;
let a: ManagedEventBus;
let b: ManagedEventBus;

/** A bus as one cloud instance holds it: its own LISTEN connection and publishing pool. */
function instanceBus(): ManagedEventBus {
  return createPostgresBus({
    databaseUrl: database.url,
    logger,
    backoff: { initialMs: 20, maxMs: 200 },
  });
}

beforeAll(async () => {
  database = await createTestDatabase({ migrated: false });
  admin = new pg.Client({ connectionString: database.url });
  await admin.connect();
  a = instanceBus();
  b = instanceBus();
  await Promise.all([a.ready(), b.ready()]);
});

afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
  await admin?.end();
  await database?.drop();
});

/** Ends every LISTEN connection of the buses on this database, as a failover or an operator would. */
async function terminateListeners(): Promise<number> {
  const { rows } = await admin.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity
      WHERE datname = current_database() AND application_name = 'multiclaw-cloud event bus'`,
  );
  for (const { pid } of rows) await admin.query('SELECT pg_terminate_backend($1)', [pid]);
  return rows.length;
}

describe('PostgreSQL LISTEN/NOTIFY event bus', () => {
  busContract(() => ({ a, b }));

  it('survives a dropped LISTEN connection: reconnects, re-LISTENs, says so, and delivers again', async () => {
    const reconnected = [a, b].map(
      (bus) =>
        new Promise<void>((resolve) => {
          const off = bus.onReconnect(() => {
            off();
            resolve();
          });
        }),
    );
    expect(await terminateListeners()).toBe(2);
    await Promise.all(reconnected);

    const message = agentsChanged();
    const onA = nextMatching(a, (m) => JSON.stringify(m) === JSON.stringify(message));
    const onB = nextMatching(b, (m) => JSON.stringify(m) === JSON.stringify(message));
    await b.publish(message);
    expect(await onA).toEqual(message);
    expect(await onB).toEqual(message);
  });

  it('ignores a malformed notification on its channel and keeps delivering', async () => {
    const heard: unknown[] = [];
    const off = b.subscribe((m) => heard.push(m));
    const marker = agentsChanged();
    const seen = nextMatching(b, (m) => JSON.stringify(m) === JSON.stringify(marker));
    await admin.query('SELECT pg_notify($1, $2)', [POSTGRES_BUS_CHANNEL, '{"type":"session.ended"}']);
    await admin.query('SELECT pg_notify($1, $2)', [POSTGRES_BUS_CHANNEL, 'not json']);
    await a.publish(marker);
    await seen;
    off();
    expect(heard).toEqual([marker]);
  });

  it('a burst published at once (coalesced into few statements) is delivered whole, in publish order', async () => {
    const burst = Array.from({ length: 300 }, () => agentsChanged());
    const heard: string[] = [];
    const off = b.subscribe((m) => heard.push(JSON.stringify(m)));
    const last = nextMatching(b, (m) => JSON.stringify(m) === JSON.stringify(burst.at(-1)));
    await Promise.all(burst.map((message) => a.publish(message)));
    await last;
    off();
    const wanted = new Set(burst.map((message) => JSON.stringify(message)));
    expect(heard.filter((text) => wanted.has(text))).toEqual(burst.map((message) => JSON.stringify(message)));
  });

  it('cannot start without its database, and says which part failed', async () => {
    const nowhere = createPostgresBus({
      databaseUrl: 'postgresql://nobody@127.0.0.1:1/none',
      logger,
      backoff: { initialMs: 1_000, maxMs: 1_000 },
    });
    await expect(nowhere.ready()).rejects.toThrow(/event bus: cannot LISTEN on PostgreSQL/);
    await nowhere.close();
  });
});
