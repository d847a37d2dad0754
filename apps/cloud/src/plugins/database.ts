import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Database } from '../db/client.js';

export type { Database };

declare module 'fastify' {
  interface FastifyInstance {
    db: Database;
  }
}

/** Shares one Prisma client; the app owns it and disconnects it on close. */
export const databasePlugin = fp<{ db: Database }>(
  async (app: FastifyInstance, { db }) => {
    app.decorate('db', db);
    app.addHook('onClose', async () => {
      await db.$disconnect();
    });
  },
  { name: 'database' },
);
