import {
  Agent,
  AgentParams,
  CreateAgentRequest,
  Page,
  PageQuery,
  UpdateAgentRequest,
  WorkspaceParams,
} from '@multiclaw/protocol';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actorOf } from '../../plugins/actor.js';
import { membershipOf } from '../workspaces/access.js';
import type { AgentService } from './service.js';

const NoContent = z.null().describe('No content');
const common = { tags: ['agents'], security: [{ bearer: [] }] };

/**
 * `/v1/workspaces/:wid/agents`, inside the workspace scope (app.ts): every
 * member reads, owners change. The scope's hooks have checked the caller's role
 * for the declared action before a handler runs; the handlers scope every
 * query by the workspace of that membership. Paths are relative to the
 * prefix; '' is the collection itself ('/' would also answer a trailing slash).
 */
export const agentRoutes: FastifyPluginAsyncZod<{ agents: AgentService }> = async (app, { agents }) => {
  app.get(
    '',
    {
      config: { action: 'agents.list' },
      schema: { ...common, params: WorkspaceParams, querystring: PageQuery, response: { 200: Page(Agent) } },
    },
    async (request) => agents.list(membershipOf(request).workspaceId, request.query),
  );

  app.post(
    '',
    {
      config: { action: 'agents.create', errors: ['AGENT_NAME_TAKEN'] },
      schema: { ...common, params: WorkspaceParams, body: CreateAgentRequest, response: { 201: Agent } },
    },
    async (request, reply) => {
      const agent = await agents.create(membershipOf(request).workspaceId, request.body, actorOf(request));
      return reply.status(201).send(agent);
    },
  );

  app.get(
    '/:aid',
    {
      config: { action: 'agents.read' },
      schema: { ...common, params: AgentParams, response: { 200: Agent } },
    },
    async (request) => agents.get(membershipOf(request).workspaceId, request.params.aid),
  );

  app.patch(
    '/:aid',
    {
      config: { action: 'agents.update', errors: ['AGENT_NAME_TAKEN', 'AGENT_VERSION_CONFLICT'] },
      schema: { ...common, params: AgentParams, body: UpdateAgentRequest, response: { 200: Agent } },
    },
    async (request) =>
      agents.update(membershipOf(request).workspaceId, request.params.aid, request.body, actorOf(request)),
  );

  app.delete(
    '/:aid',
    {
      config: { action: 'agents.delete' },
      schema: { ...common, params: AgentParams, response: { 204: NoContent } },
    },
    async (request, reply) => {
      await agents.delete(membershipOf(request).workspaceId, request.params.aid, actorOf(request));
      return reply.status(204).send(null);
    },
  );
};
