import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './database.js';
import { assertTestDatabaseName, withAdmin } from './postgres-admin.js';

const created: TestDatabase[] = [];

afterAll(async () => {
  await Promise.all(created.map((database) => database.drop()));
});

async function fresh(options?: { migrated?: boolean }) {
  const database = await createTestDatabase(options);
  created.push(database);
  return database;
}

async function exists(name: string): Promise<boolean> {
  const { adminUrl } = inject('testDatabase');
  return withAdmin(adminUrl, async (client) => {
    const result = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    return result.rowCount === 1;
  });
}

async function scalar<T>(url: string, sql: string): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return Object.values((await client.query(sql)).rows[0] ?? {})[0] as T;
  } finally {
    await client.end();
  }
}

describe('test database harness', () => {
  it('gives each caller its own migrated database, cloned from the template', async () => {
    const [a, b] = await Promise.all([fresh(), fresh()]);
    expect(a.name).not.toBe(b.name);
    expect(Number(await scalar(a.url, 'SELECT count(*) FROM _prisma_migrations'))).toBeGreaterThan(0);
    await scalar(
      a.url,
      "INSERT INTO users (email, updated_at) VALUES ('only-in-a@example.test', now()) RETURNING id",
    );
    expect(Number(await scalar(a.url, 'SELECT count(*) FROM users'))).toBe(1);
    expect(Number(await scalar(b.url, 'SELECT count(*) FROM users'))).toBe(0);
  });

  it('clones in parallel without tripping over the template', async () => {
    const databases = await Promise.all(Array.from({ length: 6 }, () => fresh()));
    expect(new Set(databases.map((database) => database.name)).size).toBe(6);
  });

  it('gives an empty database on request', async () => {
    const empty = await fresh({ migrated: false });
    expect(await scalar(empty.url, "SELECT to_regclass('public._prisma_migrations')::text")).toBeNull();
  });

  it('drops the database, even with connections open', async () => {
    const database = await createTestDatabase();
    const client = new pg.Client({ connectionString: database.url });
    client.on('error', () => {});
    await client.connect();
    expect(await exists(database.name)).toBe(true);
    await database.drop();
    expect(await exists(database.name)).toBe(false);
    await client.end().catch(() => {});
  });

  it('never touches a database without its own prefix', () => {
    for (const name of ['postgres', 'multiclaw', 'template1', 'multiclaw_test_', 'multiclaw_test_x_tpl']) {
      expect(() => assertTestDatabaseName(name)).toThrow(/not a test database/);
    }
    const { template, runPrefix } = inject('testDatabase');
    expect(assertTestDatabaseName(template)).toBe(`${runPrefix}_tpl`);
  });
});
