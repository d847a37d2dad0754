import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Database } from '../../db/client.js';
import { workspaceAccessPlugin } from './access.js';

type WorkspacesOptions = { db: Database; now: () => Date };

/**
 * Workspaces and everything scoped to one: the access hook first (so every
 * route registered after it is checked against the permission matrix), then
 * the feature routes.
 */
export const workspacesModule = fp<WorkspacesOptions>(
  async (app: FastifyInstance) => {
    await app.register(workspaceAccessPlugin);
  },
  { name: 'workspaces', dependencies: ['identity'] },
);
