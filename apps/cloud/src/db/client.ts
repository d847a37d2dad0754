import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from '../generated/prisma/client.js';

const pools = new WeakMap<object, pg.Pool>();

/**
 * The application's Prisma client, on node-postgres through Prisma's driver
 * adapter (Prisma 7 has no native query engine). The caller owns it and must
 * `$disconnect()` it, which closes the pool.
 */
export function createPrismaClient(databaseUrl: string) {
  const pool = new pg.Pool({ connectionString: databaseUrl });
  const db = new PrismaClient({ adapter: new PrismaPg(pool, { disposeExternalPool: true }) });
  pools.set(db, pool);
  return db;
}

export type Database = ReturnType<typeof createPrismaClient>;

/** The client inside an interactive transaction (`db.$transaction(async (tx) => …)`). */
export type Transaction = Parameters<Parameters<Database['$transaction']>[0]>[0];

/** What the hot paths use: one parameterised statement, rows as objects. */
export type Sql = {
  query<Row extends Record<string, unknown>>(text: string, values: unknown[]): Promise<{ rows: Row[] }>;
};

/**
 * The node-postgres pool under a client from `createPrismaClient`, for the
 * few hot paths (every authenticated request, sign-in) where Prisma's
 * per-statement cost (~1 ms of its own per query on a loaded 2-core machine,
 * bench/README.md) is most of the work. Same connections, same database:
 * anything else keeps using Prisma.
 */
export function sqlOf(db: Database): Sql {
  const pool = pools.get(db);
  if (pool) return pool as Sql;
  // A client made elsewhere (a test's own): the same statements through Prisma.
  return {
    async query<Row>(text: string, values: unknown[]) {
      return { rows: await db.$queryRawUnsafe<Row[]>(text, ...values) };
    },
  } as Sql;
}

/**
 * Runs `work` in one transaction on one connection of the pool under `db`
 * (BEGIN … COMMIT, ROLLBACK on any error), for the hot paths that `sqlOf`
 * serves; through Prisma's interactive transaction for a client made elsewhere.
 */
export function sqlTransaction<T>(db: Database, work: (sql: Sql) => Promise<T>): Promise<T> {
  return inTransaction(db, undefined, work);
}

/**
 * `sqlTransaction` whose BEGIN carries a first statement in the same round
 * trip (one simple-protocol query, so `opening` has no parameters: build it
 * with `advisoryXactLock`, never from unchecked input). Through Prisma's
 * interactive transaction, as its first statement, for a client made elsewhere.
 */
export function sqlTransactionOpening<T>(
  db: Database,
  opening: string,
  work: (sql: Sql) => Promise<T>,
): Promise<T> {
  return inTransaction(db, opening, work);
}

async function inTransaction<T>(
  db: Database,
  opening: string | undefined,
  work: (sql: Sql) => Promise<T>,
): Promise<T> {
  const pool = pools.get(db);
  if (!pool)
    return db.$transaction(async (tx) => {
      if (opening) await tx.$executeRawUnsafe(opening);
      return work(sqlOf(tx as unknown as Database));
    });
  const client = await pool.connect();
  // A connection lost while checked out (PostgreSQL restarted) emits 'error' on the
  // client, which the pool only listens for while it is idle: without a listener
  // that is an uncaught exception. The statement in flight rejects anyway.
  let lost: Error | undefined;
  const onLost = (error: Error) => {
    lost = error;
  };
  client.on('error', onLost);
  try {
    await client.query(opening ? `BEGIN; ${opening}` : 'BEGIN');
    const result = await work(client as Sql);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.off('error', onLost);
    // A lost connection is closed, not returned to the pool.
    client.release(lost);
  }
}

const LOCK_KEY = /^[0-9A-Za-z/._-]{1,200}$/;

/**
 * The statement that takes a transaction-scoped advisory lock in its
 * two-int form, `(namespace, hashtext(key))`, as a literal for
 * `sqlTransactionOpening`: the key may hold only ids' characters (UUIDs and
 * separators), checked here, so nothing can be injected.
 */
export function advisoryXactLock(namespace: number, key: string): string {
  if (!Number.isInteger(namespace) || namespace < -(2 ** 31) || namespace >= 2 ** 31)
    throw new RangeError('advisoryXactLock: the namespace is not an int4');
  if (!LOCK_KEY.test(key)) throw new RangeError('advisoryXactLock: the key is not made of ids');
  return `SELECT true AS locked FROM pg_advisory_xact_lock(${namespace}::int4, hashtext('${key}'))`;
}
