import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../test/database.js';
import { createPrismaClient } from './client.js';
import { applyMigrations } from './migrate.js';
import {
  createMigration,
  LOCKFILE_NAME,
  listMigrationFolders,
  MIGRATIONS_DIR,
  MigrationFilesError,
  pendingSchemaChange,
  readLatestSnapshot,
  SCHEMA_PATH,
  SNAPSHOT_FILE,
  validateMigrationName,
} from './migrations.js';

const WIDGET_MODEL = `
model Widget {
  id   String @id @default(dbgenerated("gen_random_uuid()")) @db.Uuid
  name String @unique

  @@map("widgets")
}
`;

const directories: string[] = [];

function scratch(): string {
  const directory = mkdtempSync(join(tmpdir(), 'mc-migration-new-'));
  directories.push(directory);
  return directory;
}

/** A copy of the committed migrations and a schema.prisma with one more model. */
function workspaceWithSchemaChange(): { migrationsDir: string; schemaPath: string; schema: string } {
  const directory = scratch();
  const migrationsDir = join(directory, 'migrations');
  cpSync(MIGRATIONS_DIR, migrationsDir, { recursive: true });
  const schemaPath = join(directory, 'schema.prisma');
  const schema = readFileSync(SCHEMA_PATH, 'utf8') + WIDGET_MODEL;
  writeFileSync(schemaPath, schema);
  return { migrationsDir, schemaPath, schema };
}

afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

describe('schema drift check', () => {
  it('the committed migrations produce exactly prisma/schema.prisma (run `pnpm db:migration:new -- <name>` if not)', async () => {
    const change = await pendingSchemaChange();
    expect(
      change?.sql ?? null,
      'prisma/schema.prisma differs from the newest migration: run `pnpm db:migration:new -- <name>`',
    ).toBeNull();
  });

  it('every migration folder carries its schema snapshot', async () => {
    for (const folder of await listMigrationFolders()) {
      expect(existsSync(join(MIGRATIONS_DIR, folder, SNAPSHOT_FILE)), folder).toBe(true);
    }
  });

  it('notices a change to the schema', async () => {
    const { migrationsDir, schemaPath } = workspaceWithSchemaChange();
    const change = await pendingSchemaChange({ migrationsDir, schemaPath });
    expect(change?.since).toBe((await readLatestSnapshot())?.folder);
    expect(change?.sql).toContain('CREATE TABLE "widgets"');
  });
});

describe('createMigration (db:migration:new)', () => {
  it('writes the next folder from the schema change, with a new snapshot, and the result migrates', async () => {
    const { migrationsDir, schemaPath, schema } = workspaceWithSchemaChange();
    const before = await listMigrationFolders(migrationsDir);

    // A clock behind the newest migration must still yield a folder that sorts after it.
    const created = await createMigration({
      name: 'add_widgets',
      migrationsDir,
      schemaPath,
      now: new Date(0),
    });
    expect(created.folder).toMatch(/^\d{14}_add_widgets$/);
    expect(await listMigrationFolders(migrationsDir)).toEqual([...before, created.folder]);
    const sql = readFileSync(join(created.path, 'migration.sql'), 'utf8');
    expect(sql).toContain('CREATE TABLE "widgets"');
    expect(sql).not.toContain('CREATE TABLE "users"');
    expect(readFileSync(join(created.path, SNAPSHOT_FILE), 'utf8')).toBe(schema);
    // Nothing else was left next to the migrations (no staging directory).
    expect(readdirSync(join(migrationsDir, '..')).sort()).toEqual(['migrations', 'schema.prisma']);

    expect(await pendingSchemaChange({ migrationsDir, schemaPath })).toBeNull();

    const database = await createTestDatabase({ migrated: false });
    try {
      const { applied } = await applyMigrations({ databaseUrl: database.url, migrationsDir });
      expect(applied).toEqual([...before, created.folder]);
      const db = createPrismaClient(database.url);
      try {
        const rows = await db.$queryRaw<Array<{ name: string }>>`SELECT name FROM widgets`;
        expect(rows).toEqual([]);
      } finally {
        await db.$disconnect();
      }
    } finally {
      await database.drop();
    }
  });

  it('refuses when the schema has not changed', async () => {
    const directory = scratch();
    const migrationsDir = join(directory, 'migrations');
    cpSync(MIGRATIONS_DIR, migrationsDir, { recursive: true });
    const before = await listMigrationFolders(migrationsDir);
    // The schema exactly as of the newest migration (not the working copy, which may be mid-edit).
    const schemaPath = join(directory, 'schema.prisma');
    writeFileSync(schemaPath, (await readLatestSnapshot(migrationsDir))?.schema ?? '');

    await expect(createMigration({ name: 'nothing', migrationsDir, schemaPath })).rejects.toThrow(
      /no schema change/,
    );
    expect(await listMigrationFolders(migrationsDir)).toEqual(before);
  });

  it('starts a new history from an empty database, with the lock file', async () => {
    const migrationsDir = join(scratch(), 'migrations');
    const created = await createMigration({ name: 'init', migrationsDir });
    expect(created.sql).toContain('CREATE TABLE "users"');
    expect(readFileSync(join(migrationsDir, LOCKFILE_NAME), 'utf8')).toMatch(/^provider = "postgresql"$/m);
  });

  it.each([
    '',
    'Add_widgets',
    'add-widgets',
    'add widgets',
    '../escape',
    'add__widgets',
    '_add',
    'x'.repeat(61),
  ])('refuses the name %j', (name) => {
    expect(() => validateMigrationName(name)).toThrow(MigrationFilesError);
  });

  it('accepts snake_case names', () => {
    expect(validateMigrationName('add_agent_tags2')).toBe('add_agent_tags2');
  });
});
