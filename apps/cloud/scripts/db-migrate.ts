/**
 * `pnpm db:migrate`: applies pending migrations to DATABASE_URL, offline
 * (WebAssembly schema engine, Prisma's standard `_prisma_migrations` table).
 * Exit codes (as the server, docs/operations.md): 0 done, 64 bad usage, 69 the database
 * could not be migrated (unreachable, or history refused), 78 DATABASE_URL missing.
 */
import { ExitCode } from '@multiclaw/runtime/exit-codes';
import { applyMigrations, describeDatabase } from '../src/db/migrate.js';

const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) {
  console.error(
    'db:migrate: DATABASE_URL is not set. Set it to the PostgreSQL database to migrate, e.g.\n' +
      '  DATABASE_URL=postgresql://multiclaw:<password>@127.0.0.1:5432/multiclaw pnpm db:migrate\n' +
      '(Outside production the cloud migrates its embedded database by itself.)',
  );
  process.exit(ExitCode.CONFIG);
}
if (process.argv.slice(2).some((arg) => arg !== '--')) {
  console.error('usage: DATABASE_URL=… pnpm db:migrate');
  process.exit(ExitCode.USAGE);
}

try {
  console.log(`migrating ${describeDatabase(databaseUrl)}`);
  const { applied } = await applyMigrations({ databaseUrl, log: (line) => console.log(line) });
  console.log(
    applied.length > 0 ? `applied ${applied.length} migration(s)` : 'database schema is up to date',
  );
} catch (error) {
  console.error(`db:migrate: ${(error as Error).message}`);
  process.exit(ExitCode.UNAVAILABLE);
}
