import {
  AcceptInvitationRequest,
  CreateWorkspaceRequest,
  Page,
  Workspace,
  WorkspaceRole,
} from '@multiclaw/protocol';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actorOf } from '../../plugins/actor.js';
import { principalOf } from '../../plugins/auth.js';
import type { InvitationService } from './invitations.js';
import { iso } from './routes.js';
import type { WorkspaceService } from './service.js';

const tags = ['workspaces'];
const security = [{ bearer: [] }];

/**
 * What a signed-in user does outside any one workspace: create one, list their
 * own, accept an invitation to another. Registered under `/v1` (app.ts).
 */
export const workspaceEntryRoutes: FastifyPluginAsyncZod<{
  workspaces: WorkspaceService;
  invitations: InvitationService;
}> = async (app, { workspaces, invitations }) => {
  app.post(
    '/workspaces',
    {
      onRequest: app.authenticate,
      schema: { tags, security, body: CreateWorkspaceRequest, response: { 201: Workspace } },
    },
    async (request, reply) =>
      reply.status(201).send(iso(await workspaces.create(actorOf(request), request.body.name))),
  );

  app.get(
    '/workspaces',
    { onRequest: app.authenticate, schema: { tags, security, response: { 200: Page(Workspace) } } },
    async (request) => ({
      items: (await workspaces.listMine(principalOf(request).userId)).map(iso),
      nextCursor: null,
    }),
  );

  app.post(
    '/invitations/accept',
    {
      config: { errors: ['INVITATION_INVALID', 'INVITATION_EMAIL_MISMATCH', 'MEMBER_ALREADY'] },
      onRequest: app.authenticate,
      schema: {
        tags,
        security,
        body: AcceptInvitationRequest,
        response: { 200: z.object({ workspaceId: z.uuid(), role: WorkspaceRole }) },
      },
    },
    async (request) => {
      const { workspaceId, role } = await invitations.accept(actorOf(request), request.body.token);
      return { workspaceId, role };
    },
  );
};
