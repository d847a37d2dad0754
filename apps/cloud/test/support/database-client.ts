import { afterAll, beforeAll } from 'vitest';
import { createPrismaClient, type Database } from '../../src/db/client.js';
import { createTestDatabase, type TestDatabase } from '../database.js';

export type TestDatabaseClient = { database: TestDatabase; db: Database };

/**
 * A fresh migrated database and a Prisma client on it for one test file:
 * made before its tests (handed to `onReady`), disconnected and dropped after.
 */
export function useTestDatabaseClient(onReady: (ready: TestDatabaseClient) => void): void {
  let ready: TestDatabaseClient | undefined;
  beforeAll(async () => {
    const database = await createTestDatabase();
    ready = { database, db: createPrismaClient(database.url) };
    onReady(ready);
  });
  afterAll(async () => {
    await ready?.db.$disconnect();
    await ready?.database.drop();
  });
}
