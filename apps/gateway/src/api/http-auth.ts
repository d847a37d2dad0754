import type { Socket } from 'node:net';
import type { ApiError } from '@multiclaw/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ConfigFile } from '../config/config-file.js';
import type { GatewayConfig } from '../config/schema.js';
import type { AuthFailureLimiter } from './auth-failure-limiter.js';
import { bearerToken, checkHost, checkOrigin, type GuardPolicy } from './guard.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Routes that need no token (Host and Origin are still checked). */
    public?: boolean;
  }
}

/**
 * Host, Origin, then the bearer token on every HTTP request (the limiter
 * decides, see auth-failure-limiter.ts). A refused request's connection is
 * closed after the answer, so an unauthenticated client cannot keep it open
 * by trickling a body nobody will read.
 */
export function registerHttpGuard(
  app: FastifyInstance,
  deps: {
    config: ConfigFile;
    limiter: AuthFailureLimiter;
    policyFor: (config: GatewayConfig) => GuardPolicy;
    /** Called once a request on this socket carried the right token. */
    onAuthenticated: (socket: Socket) => void;
  },
): void {
  app.addHook('onRequest', async (request, reply) => {
    const refused = await refusalOf(request.raw, request.routeOptions.config.public === true, deps);
    if (refused) {
      reply.header('connection', 'close');
      throw refused;
    }
  });
}

async function refusalOf(
  req: FastifyRequest['raw'],
  isPublic: boolean,
  deps: Parameters<typeof registerHttpGuard>[1],
): Promise<ApiError | undefined> {
  const config = await deps.config.current();
  const policy = deps.policyFor(config);
  const refused = checkHost(req, policy) ?? checkOrigin(req, policy);
  if (refused || isPublic) return refused;
  const failed = deps.limiter.authenticate(
    req.socket.remoteAddress,
    bearerToken(req),
    config.gateway.auth.token,
    'Send the gateway token (gateway.auth.token in openclaw.json) as "Authorization: Bearer <token>"',
  );
  if (!failed) deps.onAuthenticated(req.socket);
  return failed;
}
