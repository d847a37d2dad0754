/**
 * `pnpm db:migration:new -- <name>`: writes the next migration folder from the
 * change to prisma/schema.prisma since the newest migration. Offline; needs no
 * database. See docs/database.md.
 */

import { relative } from 'node:path';
import { ExitCode } from '@multiclaw/runtime/exit-codes';
import { createMigration, MigrationFilesError, SCHEMA_PATH } from '../src/db/migrations.js';

// pnpm may pass the `--` separator through.
const args = process.argv.slice(2).filter((arg) => arg !== '--');
if (args.length !== 1 || args[0] === '--help' || args[0] === '-h') {
  console.error('usage: pnpm db:migration:new -- <name>    (snake_case, e.g. add_agent_tags)');
  console.error(`Writes the next migration from the changes to ${relative(process.cwd(), SCHEMA_PATH)}.`);
  process.exit(args.length === 1 ? ExitCode.OK : ExitCode.USAGE);
}

try {
  const created = await createMigration({ name: args[0] as string });
  console.log(`wrote ${relative(process.cwd(), created.path)}/`);
  console.log('  migration.sql   review it (and add any data migration by hand) before committing');
  console.log('  schema.prisma   snapshot of the schema it produces; commit it too');
} catch (error) {
  if (error instanceof MigrationFilesError) {
    console.error(`db:migration:new: ${error.message}`);
    process.exit(ExitCode.DATAERR);
  }
  throw error;
}
