import { ApiError, Id } from '@multiclaw/protocol';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { SessionService } from '../modules/identity/sessions/service.js';
import type { AccessTokens } from '../modules/identity/tokens/access-tokens.js';

export type Principal = { userId: string; sessionId: string };

/** The caller's role in the request's `:wid`, read with the session (null: not a member). */
export type PrefetchedRole = { workspaceId: string; role: string | null };

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by `app.authenticate`; null on routes that do not require it. */
    principal: Principal | null;
    /** Set by `app.authenticate` on a route with a well-formed `:wid`; the access check uses it. */
    workspaceRole: PrefetchedRole | null;
  }
  interface FastifyInstance {
    /** onRequest hook for routes that need a signed-in user. */
    authenticate: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  }
}

const BEARER = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/i;

/**
 * Bearer authentication: a valid access token AND a live session. Checking
 * the session on every request is what makes logout, revocation and password
 * change take effect on the very next request rather than at token expiry.
 */
export const authPlugin = fp<{ tokens: AccessTokens; sessions: SessionService }>(
  async (app: FastifyInstance, { tokens, sessions }) => {
    app.decorateRequest('principal', null);
    app.decorateRequest('workspaceRole', null);
    app.decorate('authenticate', async (request: FastifyRequest, reply: FastifyReply) => {
      reply.header('www-authenticate', 'Bearer realm="multiclaw"');
      const match = BEARER.exec(request.headers.authorization ?? '');
      if (!match?.[1])
        throw new ApiError('UNAUTHENTICATED', 'Sign in first: send Authorization: Bearer <access token>');
      const claims = await tokens.verify(match[1]);
      const wid = Id.safeParse((request.params as { wid?: unknown } | undefined)?.wid);
      const workspaceId = wid.success ? wid.data : undefined;
      if (workspaceId === undefined) await sessions.assertActive(claims.sessionId, claims.userId);
      else {
        const role = await sessions.assertActiveWithRole(claims.sessionId, claims.userId, workspaceId);
        request.workspaceRole = { workspaceId, role };
      }
      reply.removeHeader('www-authenticate');
      request.principal = claims;
    });
  },
  { name: 'auth' },
);

/** The principal of an authenticated request (the route's onRequest ran `app.authenticate`). */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new ApiError('UNAUTHENTICATED', 'Sign in first');
  return request.principal;
}
