import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { type EmbeddedPostgres, startEmbeddedPostgres } from '../src/db/embedded-postgres.js';
import { applyMigrations, describeDatabase } from '../src/db/migrate.js';
import {
  databaseUrl,
  dropDatabase,
  findLeftoverDatabases,
  newRunPrefix,
  type TestDatabaseServer,
  withAdmin,
} from './postgres-admin.js';

declare module 'vitest' {
  export interface ProvidedContext {
    testDatabase: TestDatabaseServer;
  }
}

/**
 * Once per test run: pick a PostgreSQL server, build a migrated template
 * database on it, and hand both to the workers, which clone the template for
 * each test file (test/database.ts). Server, in order:
 *   1. TEST_DATABASE_URL, else DATABASE_URL (its user needs CREATEDB);
 *   2. PostgreSQL on 127.0.0.1:5432 as user postgres, if it answers;
 *   3. an embedded PostgreSQL started here in a temporary directory.
 */

const LOCAL_URL = 'postgresql://postgres@127.0.0.1:5432/postgres';

function say(line: string): void {
  console.log(`[test database] ${line}`);
}

async function answers(url: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return null;
  } catch (error) {
    return (error as Error).message;
  } finally {
    await client.end().catch(() => {});
  }
}

type Server = { adminUrl: string; stop: () => Promise<void> };

async function pickServer(): Promise<Server> {
  const configured = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL;
  if (configured) {
    const variable = process.env.TEST_DATABASE_URL ? 'TEST_DATABASE_URL' : 'DATABASE_URL';
    say(`using the server of ${variable} (${describeDatabase(configured)})`);
    return { adminUrl: configured, stop: async () => {} };
  }
  const problem = await answers(LOCAL_URL);
  if (problem === null) {
    say('using PostgreSQL on 127.0.0.1:5432');
    return { adminUrl: LOCAL_URL, stop: async () => {} };
  }
  say(`no PostgreSQL on 127.0.0.1:5432 (${problem}): starting an embedded one`);
  const directory = await mkdtemp(join(tmpdir(), 'multiclaw-test-pg-'));
  let embedded: EmbeddedPostgres;
  try {
    embedded = await startEmbeddedPostgres({ dataDir: join(directory, 'data'), database: 'postgres' });
  } catch (error) {
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
  return {
    adminUrl: embedded.url,
    stop: async () => {
      await embedded.stop();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

export default async function setup(project: TestProject) {
  const server = await pickServer();
  const runPrefix = newRunPrefix();
  const template = `${runPrefix}_tpl`;
  try {
    for (const stale of await findLeftoverDatabases(server.adminUrl)) {
      say(`dropping ${stale}, left by an earlier run`);
      await dropDatabase(server.adminUrl, stale);
    }
    await withAdmin(server.adminUrl, async (client) => {
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(template)}`);
    });
    const { applied } = await applyMigrations({ databaseUrl: databaseUrl(server.adminUrl, template) });
    await withAdmin(server.adminUrl, async (client) => {
      // Nothing may connect to the template from now on: a connected template
      // cannot be copied. applyMigrations has closed its own connections.
      await client.query(`ALTER DATABASE ${client.escapeIdentifier(template)} WITH ALLOW_CONNECTIONS false`);
      await client.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
        [template],
      );
    });
    say(`template ${template} migrated (${applied.length} migrations)`);
  } catch (error) {
    await dropDatabase(server.adminUrl, template).catch(() => {});
    await server.stop();
    throw error;
  }

  project.provide('testDatabase', { adminUrl: server.adminUrl, template, runPrefix });

  return async () => {
    try {
      // The template, and any test database a test forgot to drop.
      for (const name of await findLeftoverDatabases(server.adminUrl, { runPrefix })) {
        await dropDatabase(server.adminUrl, name);
      }
    } finally {
      await server.stop();
    }
  };
}
