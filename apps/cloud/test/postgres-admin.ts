import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * Database administration for the test harness. Every database it creates or
 * drops is named `multiclaw_test_<epoch seconds>_<run id>_<tpl | db id>`, and
 * it refuses to touch any other name: pointed at a real server, it can only
 * ever affect its own databases.
 */

export const TEST_DB_PREFIX = 'multiclaw_test_';
const TEST_DB_PATTERN = /^multiclaw_test_(\d{10})_([0-9a-f]{8})_(tpl|[0-9a-f]{8})$/;
/** Databases of a run older than this were left by a run that crashed. */
const STALE_AFTER_SECONDS = 24 * 60 * 60;

/** What the global setup hands to every test worker. */
export type TestDatabaseServer = {
  /** A connection URL to an administrative database on the server (never modified). */
  adminUrl: string;
  /** The migrated template that test databases are cloned from. */
  template: string;
  /** Identifies this run's databases: `multiclaw_test_<epoch>_<runId>`. */
  runPrefix: string;
};

export function newRunPrefix(now: Date = new Date()): string {
  const epoch = Math.floor(now.getTime() / 1000)
    .toString()
    .padStart(10, '0');
  return `${TEST_DB_PREFIX}${epoch}_${randomBytes(4).toString('hex')}`;
}

export function newDatabaseName(runPrefix: string): string {
  return assertTestDatabaseName(`${runPrefix}_${randomBytes(4).toString('hex')}`);
}

export function assertTestDatabaseName(name: string): string {
  if (!TEST_DB_PATTERN.test(name))
    throw new Error(`refusing to touch database ${JSON.stringify(name)}: not a test database`);
  return name;
}

/** The same server and credentials, another database. */
export function databaseUrl(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

export async function withAdmin<T>(adminUrl: string, action: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  client.on('error', () => {
    // A connection dropped mid-way surfaces as a failed query.
  });
  await client.connect();
  try {
    return await action(client);
  } finally {
    await client.end().catch(() => {});
  }
}

const OBJECT_IN_USE = '55006';

/**
 * CREATE DATABASE … TEMPLATE …, retried while the template is briefly in use
 * (PostgreSQL refuses to copy a database another session is connected to).
 */
export async function createDatabase(
  adminUrl: string,
  name: string,
  template: string,
  options: { attempts?: number } = {},
): Promise<void> {
  assertTestDatabaseName(name);
  const attempts = options.attempts ?? 50;
  await withAdmin(adminUrl, async (client) => {
    for (let attempt = 1; ; attempt++) {
      try {
        await client.query(
          `CREATE DATABASE ${client.escapeIdentifier(name)} TEMPLATE ${client.escapeIdentifier(template)}`,
        );
        return;
      } catch (error) {
        if ((error as { code?: string }).code !== OBJECT_IN_USE || attempt >= attempts) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.min(25 * attempt, 250)));
      }
    }
  });
}

export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  assertTestDatabaseName(name);
  await withAdmin(adminUrl, async (client) => {
    await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`);
  });
}

/** Test databases of this run (`runPrefix`), or of crashed runs older than a day. */
export async function findLeftoverDatabases(
  adminUrl: string,
  options: { runPrefix?: string; now?: Date } = {},
): Promise<string[]> {
  const names = await withAdmin(adminUrl, async (client) => {
    const result = await client.query<{ datname: string }>(
      'SELECT datname FROM pg_database WHERE starts_with(datname, $1)',
      [TEST_DB_PREFIX],
    );
    return result.rows.map((row) => row.datname);
  });
  const nowSeconds = Math.floor((options.now ?? new Date()).getTime() / 1000);
  return names.filter((name) => {
    const match = TEST_DB_PATTERN.exec(name);
    if (!match) return false;
    if (options.runPrefix && name.startsWith(`${options.runPrefix}_`)) return true;
    return nowSeconds - Number(match[1]) > STALE_AFTER_SECONDS;
  });
}
