import {
  CreateInvitationRequest,
  CreateInvitationResponse,
  Invitation,
  InvitationParams,
  Member,
  MemberParams,
  normaliseEmail,
  Page,
  UpdateMemberRequest,
  UpdateWorkspaceRequest,
  Workspace,
  WorkspaceParams,
} from '@multiclaw/protocol';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actorOf } from '../../plugins/actor.js';
import { membershipOf } from './access.js';
import type { InvitationService } from './invitations.js';
import type { WorkspaceService } from './service.js';

const NoContent = z.null().describe('No content');
const tags = ['workspaces'];
const security = [{ bearer: [] }];

/** A workspace row as the API shows it: its creation time in ISO 8601. */
export const iso = <T extends { createdAt: Date }>(row: T) => ({
  ...row,
  createdAt: row.createdAt.toISOString(),
});

/**
 * One workspace, its members and invitations: `/v1/workspaces/:wid`, registered
 * inside the workspace scope (app.ts), whose hooks have signed the caller in and
 * checked their role for the route's `config.action` before a handler runs.
 * Paths are relative to the scope; '' is the workspace itself ('/' would also
 * answer a second, trailing-slash URL).
 */
export const workspaceRoutes: FastifyPluginAsyncZod<{
  workspaces: WorkspaceService;
  invitations: InvitationService;
}> = async (app, { workspaces, invitations }) => {
  app.get(
    '',
    {
      config: { action: 'workspace.read' },
      schema: { tags, security, params: WorkspaceParams, response: { 200: Workspace } },
    },
    async (request) => iso(await workspaces.read(request.params.wid, membershipOf(request).role)),
  );

  app.patch(
    '',
    {
      config: { action: 'workspace.update' },
      schema: {
        tags,
        security,
        params: WorkspaceParams,
        body: UpdateWorkspaceRequest,
        response: { 200: Workspace },
      },
    },
    async (request) =>
      iso(
        await workspaces.rename(
          actorOf(request),
          request.params.wid,
          membershipOf(request).role,
          request.body.name,
        ),
      ),
  );

  app.delete(
    '',
    {
      config: { action: 'workspace.delete' },
      schema: { tags, security, params: WorkspaceParams, response: { 204: NoContent } },
    },
    async (request, reply) => {
      await workspaces.remove(actorOf(request), request.params.wid);
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/members',
    {
      config: { action: 'members.list' },
      schema: { tags, security, params: WorkspaceParams, response: { 200: Page(Member) } },
    },
    async (request) => ({
      items: (await workspaces.members(request.params.wid)).map((m) => ({
        ...m,
        joinedAt: m.joinedAt.toISOString(),
      })),
      nextCursor: null,
    }),
  );

  app.patch(
    '/members/:uid',
    {
      config: { action: 'members.update', errors: ['WORKSPACE_LAST_OWNER'] },
      schema: {
        tags,
        security,
        params: MemberParams,
        body: UpdateMemberRequest,
        response: { 204: NoContent },
      },
    },
    async (request, reply) => {
      const { wid, uid } = request.params;
      await workspaces.changeRole(
        actorOf(request),
        wid,
        uid,
        request.body.role,
        request.body.transfer ?? false,
      );
      return reply.status(204).send(null);
    },
  );

  app.delete(
    '/members/:uid',
    {
      // Removing oneself is leaving, which every member may do.
      config: {
        action: (request) =>
          (request.params as { uid?: string }).uid === request.principal?.userId
            ? 'members.leave'
            : 'members.remove',
        errors: ['WORKSPACE_LAST_OWNER'],
      },
      schema: { tags, security, params: MemberParams, response: { 204: NoContent } },
    },
    async (request, reply) => {
      await workspaces.removeMember(actorOf(request), request.params.wid, request.params.uid);
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/invitations',
    {
      config: { action: 'invitations.create', errors: ['MEMBER_ALREADY'] },
      schema: {
        tags,
        security,
        params: WorkspaceParams,
        body: CreateInvitationRequest,
        response: { 201: CreateInvitationResponse },
      },
    },
    async (request, reply) => {
      const { email, role } = request.body;
      const created = await invitations.create(
        actorOf(request),
        request.params.wid,
        normaliseEmail(email),
        role,
      );
      return reply.status(201).send({ ...created, expiresAt: created.expiresAt.toISOString() });
    },
  );

  app.get(
    '/invitations',
    {
      config: { action: 'invitations.list' },
      schema: { tags, security, params: WorkspaceParams, response: { 200: Page(Invitation) } },
    },
    async (request) => ({
      items: (await invitations.listPending(request.params.wid)).map((i) => ({
        ...i,
        createdAt: i.createdAt.toISOString(),
        expiresAt: i.expiresAt.toISOString(),
      })),
      nextCursor: null,
    }),
  );

  app.delete(
    '/invitations/:iid',
    {
      config: { action: 'invitations.revoke' },
      schema: { tags, security, params: InvitationParams, response: { 204: NoContent } },
    },
    async (request, reply) => {
      await invitations.revoke(actorOf(request), request.params.wid, request.params.iid);
      return reply.status(204).send(null);
    },
  );
};
