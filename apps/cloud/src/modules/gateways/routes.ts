import {
  CreateGatewayEnrollmentRequest,
  EnrollGatewayRequest,
  EnrollGatewayResponse,
  Gateway,
  GatewayEnrollment,
  GatewayParams,
  Page,
  PageQuery,
  WorkspaceParams,
} from '@multiclaw/protocol';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actorOf, clientOf } from '../../plugins/actor.js';
import { rateLimited } from '../../plugins/rate-limit.js';
import { membershipOf } from '../workspaces/access.js';
import type { GatewayService } from './service.js';

const NoContent = z.null().describe('No content');
const common = { tags: ['gateways'], security: [{ bearer: [] }] };

/**
 * `/v1/workspaces/:wid/gateway-enrollments` and `/v1/workspaces/:wid/gateways`,
 * inside the workspace scope (app.ts), which has checked the caller's role for
 * the declared action. Listing and revoking declare the `_own` action every
 * member has; the service widens to everyone's gateways only for a role the
 * matrix gives the `_any` action.
 */
export const gatewayRoutes: FastifyPluginAsyncZod<{ gateways: GatewayService }> = async (
  app,
  { gateways },
) => {
  app.post(
    '/gateway-enrollments',
    {
      config: { action: 'gateways.enroll' },
      schema: {
        ...common,
        params: WorkspaceParams,
        body: CreateGatewayEnrollmentRequest.nullish(),
        response: { 201: GatewayEnrollment },
      },
    },
    async (request, reply) => {
      const { workspaceId } = membershipOf(request);
      const enrollment = await gateways.createEnrollment(actorOf(request), workspaceId, request.body?.name);
      // The code is a credential, shown once: no cache keeps it.
      return reply.status(201).header('cache-control', 'no-store').send(enrollment);
    },
  );

  app.get(
    '/gateways',
    {
      config: { action: 'gateways.list_own' },
      schema: {
        ...common,
        params: WorkspaceParams,
        querystring: PageQuery,
        response: { 200: Page(Gateway) },
      },
    },
    async (request) => gateways.list(membershipOf(request), request.query),
  );

  app.delete(
    '/gateways/:gid',
    {
      config: { action: 'gateways.revoke_own' },
      schema: { ...common, params: GatewayParams, response: { 204: NoContent } },
    },
    async (request, reply) => {
      await gateways.revoke(actorOf(request), membershipOf(request), request.params.gid);
      return reply.status(204).send(null);
    },
  );
};

/**
 * `POST /v1/gateways/enroll`: no bearer token, the enrollment code is the
 * credential, so it draws on the same per-client budget as sign-in.
 */
export const gatewayEnrollRoutes: FastifyPluginAsyncZod<{ gateways: GatewayService }> = async (
  app,
  { gateways },
) => {
  app.post(
    '/enroll',
    {
      config: { ...rateLimited('auth'), errors: ['GATEWAY_ENROLLMENT_INVALID'] },
      schema: { tags: ['gateways'], body: EnrollGatewayRequest, response: { 201: EnrollGatewayResponse } },
    },
    async (request, reply) => {
      const { ip, userAgent } = clientOf(request);
      const enrolled = await gateways.enroll(request.body, { ip, userAgent });
      return reply.status(201).send(enrolled);
    },
  );
};
