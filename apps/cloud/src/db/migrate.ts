import pg from 'pg';
import { MIGRATIONS_DIR, NO_FILTERS, readMigrationList } from './migrations.js';
import { openSchemaEngine } from './schema-engine.js';

/**
 * Applies pending migrations with the in-process (WebAssembly) schema engine:
 * no network, no native binary. It writes Prisma's own `_prisma_migrations`
 * table, so the result is exactly what `prisma migrate deploy` would leave.
 *
 * Before applying anything it compares the database's history with the
 * migrations directory and refuses, naming the migrations, when they disagree:
 * a migration edited after it was applied, a failed migration, or migrations
 * in the database that this version does not have.
 */

export class MigrationHistoryError extends Error {
  override name = 'MigrationHistoryError';
}

export type ApplyMigrationsOptions = {
  databaseUrl: string;
  log?: (line: string) => void;
  /** Defaults to apps/cloud/prisma/migrations. */
  migrationsDir?: string;
};

/**
 * Session-level advisory lock held while migrating, so two processes starting
 * at once (several instances, parallel tests) never apply the same migration
 * twice. Any constant works; this one is "mclaw" in ASCII.
 */
const MIGRATION_LOCK_KEY = 0x6d636c6177;

/** Host, port and database of a URL, never its credentials (for error messages). */
export function describeDatabase(databaseUrl: string): string {
  try {
    const url = new URL(databaseUrl);
    return `${url.hostname}${url.port ? `:${url.port}` : ''}${url.pathname}`;
  } catch {
    return '(unparseable DATABASE_URL)';
  }
}

export async function applyMigrations(options: ApplyMigrationsOptions): Promise<{ applied: string[] }> {
  const log = options.log ?? (() => {});
  const migrationsList = await readMigrationList(options.migrationsDir ?? MIGRATIONS_DIR);
  if (migrationsList.migrationDirectories.length === 0) {
    throw new MigrationHistoryError(`no migrations found in ${migrationsList.baseDir}`);
  }

  const lock = new pg.Client({ connectionString: options.databaseUrl });
  lock.on('error', () => {
    // A dropped connection surfaces as a failed query below.
  });
  try {
    await lock.connect();
  } catch (error) {
    throw new Error(
      `could not connect to the database at ${describeDatabase(options.databaseUrl)}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  try {
    await lock.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    const handle = await openSchemaEngine({
      databaseUrl: options.databaseUrl,
      log: (line) => {
        const entry = parseEngineLog(line);
        if (entry && (entry.level === 'WARN' || entry.level === 'ERROR'))
          log(`schema engine: ${entry.message}`);
      },
    });
    try {
      const diagnosis = await handle.engine.diagnoseMigrationHistory({
        migrationsList,
        optInToShadowDatabase: false,
        filters: NO_FILTERS,
      });
      const problems: string[] = [];
      if (diagnosis.failedMigrationNames.length > 0) {
        problems.push(
          `these migrations failed earlier and left the database in an unknown state: ${diagnosis.failedMigrationNames.join(', ')}. ` +
            'Repair the database by hand, then mark them rolled back (prisma migrate resolve --rolled-back <name>).',
        );
      }
      if (diagnosis.editedMigrationNames.length > 0) {
        problems.push(
          `these migrations were edited after they were applied to this database (checksum mismatch): ${diagnosis.editedMigrationNames.join(', ')}. ` +
            'Restore them as they were; put further changes in a new migration.',
        );
      }
      const history = diagnosis.history;
      if (history?.diagnostic === 'historiesDiverge') {
        problems.push(
          `the database and the migrations directory have diverged after ${history.lastCommonMigrationName ?? 'the start'}: ` +
            `applied here but missing from the directory: ${history.unpersistedMigrationNames.join(', ') || 'none'}; ` +
            `in the directory but not applied: ${history.unappliedMigrationNames.join(', ') || 'none'}.`,
        );
      } else if (history?.diagnostic === 'migrationsDirectoryIsBehind') {
        problems.push(
          `the database has migrations this version does not know: ${history.unpersistedMigrationNames.join(', ')}. ` +
            'It was migrated by a newer version; run that version (or restore its migrations).',
        );
      }
      if (problems.length > 0) {
        throw new MigrationHistoryError(
          `refusing to migrate ${describeDatabase(options.databaseUrl)}:\n- ${problems.join('\n- ')}`,
        );
      }

      const { appliedMigrationNames } = await handle.engine
        .applyMigrations({ migrationsList, filters: NO_FILTERS })
        .catch((error: Error) => {
          throw new Error(`migrating ${describeDatabase(options.databaseUrl)} failed: ${error.message}`, {
            cause: error,
          });
        });
      for (const name of appliedMigrationNames) log(`applied migration ${name}`);
      return { applied: appliedMigrationNames };
    } finally {
      await handle.close();
    }
  } finally {
    // Ending the session releases the advisory lock.
    await lock.end().catch(() => {});
  }
}

function parseEngineLog(line: string): { level: string; message: string } | undefined {
  try {
    const entry = JSON.parse(line) as { level?: unknown; fields?: { message?: unknown } };
    if (typeof entry.level !== 'string') return undefined;
    return { level: entry.level, message: String(entry.fields?.message ?? line) };
  } catch {
    return undefined;
  }
}
