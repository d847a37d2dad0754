import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Database } from '../../db/client.js';
import { agentRoutes } from './routes.js';
import { type AgentServiceDeps, createAgentService } from './service.js';

type AgentsOptions = { db: Database; now: () => Date; audit: AgentServiceDeps['audit'] };

/**
 * Workspace agent configuration. Register after the workspace access hook
 * (`workspace-access`), which checks every route's declared action.
 */
export const agentsModule = fp<AgentsOptions>(
  async (app: FastifyInstance, { db, now, audit }) => {
    await app.register(agentRoutes, { agents: createAgentService({ db, now, audit }) });
  },
  { name: 'agents', dependencies: ['workspace-access'] },
);
