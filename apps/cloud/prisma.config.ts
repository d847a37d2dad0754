import { defineConfig } from 'prisma/config';

/**
 * Prisma CLI configuration (`prisma generate`, and `prisma migrate deploy`
 * where the native engine is reachable). The project's own offline migration
 * tool does not read it: see docs/database.md.
 *
 * `schema` must stay a file: given a folder, Prisma would search it
 * recursively and pick up the schema snapshots kept in prisma/migrations/.
 */
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  // Prisma's env() throws when the variable is unset, which would break
  // `prisma generate` (it needs no database). Only migrate/introspect use it.
  datasource: { url: process.env.DATABASE_URL ?? '' },
});
