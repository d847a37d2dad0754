import { createHash } from 'node:crypto';
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/database.js';
import { applyMigrations, MigrationHistoryError } from './migrate.js';
import { listMigrationFolders, MIGRATIONS_DIR } from './migrations.js';

const databases: TestDatabase[] = [];
const directories: string[] = [];

async function emptyDatabase(): Promise<TestDatabase> {
  const database = await createTestDatabase({ migrated: false });
  databases.push(database);
  return database;
}

/** A private copy of the committed migrations directory, to tamper with. */
function copyOfMigrations(): string {
  const directory = mkdtempSync(join(tmpdir(), 'mc-migrations-'));
  directories.push(directory);
  const copy = join(directory, 'migrations');
  cpSync(MIGRATIONS_DIR, copy, { recursive: true });
  return copy;
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

afterAll(async () => {
  await Promise.all(databases.map((database) => database.drop()));
});

describe('applyMigrations', () => {
  it('applies every migration to an empty database, then does nothing the second time', async () => {
    const database = await emptyDatabase();
    const folders = await listMigrationFolders();
    expect(folders.length).toBeGreaterThan(0);
    const lines: string[] = [];

    const first = await applyMigrations({ databaseUrl: database.url, log: (line) => lines.push(line) });
    expect(first.applied).toEqual(folders);
    expect(lines).toEqual(folders.map((folder) => `applied migration ${folder}`));

    const tables = await query<{ table_name: string }>(
      database.url,
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'",
    );
    expect(tables.map((row) => row.table_name)).toEqual(
      expect.arrayContaining(['users', 'memberships', 'messages', 'audit_events', '_prisma_migrations']),
    );

    const second = await applyMigrations({ databaseUrl: database.url });
    expect(second.applied).toEqual([]);
  });

  it("records Prisma's own history, so `prisma migrate deploy` agrees with it", async () => {
    const database = await emptyDatabase();
    await applyMigrations({ databaseUrl: database.url });
    const rows = await query<{ migration_name: string; checksum: string; finished_at: Date | null }>(
      database.url,
      'SELECT migration_name, checksum, finished_at FROM _prisma_migrations ORDER BY migration_name',
    );
    const folders = await listMigrationFolders();
    expect(rows.map((row) => row.migration_name)).toEqual(folders);
    for (const row of rows) {
      // Prisma's checksum is the SHA-256 of migration.sql.
      const sql = readFileSync(join(MIGRATIONS_DIR, row.migration_name, 'migration.sql'));
      expect(row.checksum).toBe(createHash('sha256').update(sql).digest('hex'));
      expect(row.finished_at).not.toBeNull();
    }
  });

  it('refuses, naming it, a migration edited after it was applied', async () => {
    const database = await emptyDatabase();
    const migrations = copyOfMigrations();
    await applyMigrations({ databaseUrl: database.url, migrationsDir: migrations });
    const [first] = await listMigrationFolders(migrations);
    appendFileSync(join(migrations, first as string, 'migration.sql'), '\n-- an innocent-looking edit\n');

    const attempt = applyMigrations({ databaseUrl: database.url, migrationsDir: migrations });
    await expect(attempt).rejects.toBeInstanceOf(MigrationHistoryError);
    await expect(attempt).rejects.toThrow(new RegExp(`edited after they were applied.*${first}`));
  });

  it('refuses a database migrated by a newer version (a migration this directory lacks)', async () => {
    const database = await emptyDatabase();
    const newer = copyOfMigrations();
    mkdirSync(join(newer, '29991231235959_from_the_future'));
    writeFileSync(
      join(newer, '29991231235959_from_the_future', 'migration.sql'),
      'CREATE TABLE future (id int);\n',
    );
    await applyMigrations({ databaseUrl: database.url, migrationsDir: newer });

    await expect(applyMigrations({ databaseUrl: database.url })).rejects.toThrow(
      /does not know: 29991231235959_from_the_future/,
    );
  });

  it('applies each migration exactly once when two processes migrate at the same time', async () => {
    const database = await emptyDatabase();
    const results = await Promise.all([
      applyMigrations({ databaseUrl: database.url }),
      applyMigrations({ databaseUrl: database.url }),
    ]);
    const applied = results.flatMap((result) => result.applied).sort();
    expect(applied).toEqual(await listMigrationFolders());
  });

  it('says which database it could not reach, without its password', async () => {
    const attempt = applyMigrations({
      databaseUrl: 'postgresql://someone:hunter2secret@127.0.0.1:1/nowhere',
    });
    await expect(attempt).rejects.toThrow(/could not connect to the database at 127\.0\.0\.1:1\/nowhere/);
    await expect(attempt).rejects.not.toThrow(/hunter2secret/);
  });
});
