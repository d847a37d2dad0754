import { ApiError } from '@multiclaw/protocol';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Database } from '../../db/client.js';
import { clientOf } from '../../plugins/actor.js';
import { rateLimited } from '../../plugins/rate-limit.js';
import type { GatewayService } from '../gateways/service.js';
import type { LinkAssertions } from './assertion.js';

const NoContent = z.null().describe('No content');

/**
 * `DELETE /v1/gateway-link/self` (register under `/v1`): a gateway revokes
 * itself — what `multiclaw-gateway unlink` asks before it deletes its key. A
 * gateway holds no person's bearer token, so the credential is a fresh link
 * assertion signed with its enrolled key (the same checks as the link's
 * upgrade: single-use `jti`, audience the link URL, not revoked, owner still a
 * member). The revoke itself is the gateways service's, on behalf of the
 * person who enrolled it (the audit log names them), so its socket closes on
 * whichever instance holds it. A gateway already revoked is refused at the
 * assertion (403 LINK_GATEWAY_REVOKED), which `unlink` takes as done.
 */
export const gatewaySelfRevokeRoute: FastifyPluginAsyncZod<{
  db: Database;
  assertions: Pick<LinkAssertions, 'verify'>;
  gateways: Pick<GatewayService, 'revoke'>;
}> = async (app, { db, assertions, gateways }) => {
  app.delete(
    '/gateway-link/self',
    {
      config: { ...rateLimited(), errors: ['LINK_AUTH_INVALID', 'LINK_GATEWAY_REVOKED'] },
      schema: { tags: ['gateways'], response: { 204: NoContent } },
    },
    async (request, reply) => {
      const match = /^Bearer ([A-Za-z0-9_.-]{1,4096})$/.exec(request.headers.authorization ?? '');
      if (!match?.[1]) {
        throw new ApiError(
          'LINK_AUTH_INVALID',
          'Send `Authorization: Bearer <assertion>`, signed by the gateway key.',
        );
      }
      const { gateway } = await assertions.verify(match[1]);
      const membership = await db.membership.findUnique({
        where: { workspaceId_userId: { workspaceId: gateway.workspaceId, userId: gateway.ownerUserId } },
        select: { role: true },
      });
      if (!membership)
        throw new ApiError(
          'LINK_GATEWAY_REVOKED',
          'The person who linked this gateway is no longer a member.',
        );
      const { ip, userAgent } = clientOf(request);
      await gateways.revoke(
        { userId: gateway.ownerUserId, ip, userAgent },
        { workspaceId: gateway.workspaceId, userId: gateway.ownerUserId, role: membership.role },
        gateway.id,
      );
      return reply.status(204).send(null);
    },
  );
};
