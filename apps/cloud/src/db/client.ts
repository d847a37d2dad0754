import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client.js';

/**
 * The application's Prisma client, on node-postgres through Prisma's driver
 * adapter (Prisma 7 has no native query engine). The caller owns it and must
 * `$disconnect()` it, which closes the pool.
 */
export function createPrismaClient(databaseUrl: string) {
  return new PrismaClient({ adapter: new PrismaPg({ connectionString: databaseUrl }) });
}

export type Database = ReturnType<typeof createPrismaClient>;

/** The client inside an interactive transaction (`db.$transaction(async (tx) => …)`). */
export type Transaction = Parameters<Parameters<Database['$transaction']>[0]>[0];
