import { inject } from 'vitest';
import { createDatabase, databaseUrl, dropDatabase, newDatabaseName } from './postgres-admin.js';

export type TestDatabase = {
  /** Connection URL of the new database. */
  url: string;
  name: string;
  /** Drops it (WITH (FORCE): open connections are closed). Idempotent. */
  drop(): Promise<void>;
};

/**
 * A fresh database of its own for a test file: a copy of the template the
 * global setup migrated once for this run, so it has the whole schema and no
 * rows. `{ migrated: false }` gives an empty database instead (template0).
 * Call `drop()` when done (afterAll); the run's teardown drops leftovers.
 */
export async function createTestDatabase(options: { migrated?: boolean } = {}): Promise<TestDatabase> {
  const { adminUrl, template, runPrefix } = inject('testDatabase');
  const name = newDatabaseName(runPrefix);
  await createDatabase(adminUrl, name, options.migrated === false ? 'template0' : template);
  let dropped: Promise<void> | undefined;
  return {
    url: databaseUrl(adminUrl, name),
    name,
    drop() {
      dropped ??= dropDatabase(adminUrl, name);
      return dropped;
    },
  };
}
