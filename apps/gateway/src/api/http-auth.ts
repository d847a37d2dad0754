import { ApiError } from '@multiclaw/protocol';
import type { FastifyInstance } from 'fastify';
import type { ConfigFile } from '../config/config-file.js';
import type { GatewayConfig } from '../config/schema.js';
import type { AuthFailureLimiter } from './auth-failure-limiter.js';
import { bearerToken, checkHost, checkOrigin, clientKey, type GuardPolicy, tokensMatch } from './guard.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Routes that need no token (Host and Origin are still checked). */
    public?: boolean;
  }
}

/** Host, Origin, then the bearer token on every HTTP request; failures counted per client. */
export function registerHttpGuard(
  app: FastifyInstance,
  deps: {
    config: ConfigFile;
    limiter: AuthFailureLimiter;
    policyFor: (config: GatewayConfig) => GuardPolicy;
  },
): void {
  app.addHook('onRequest', async (request) => {
    const config = await deps.config.current();
    const policy = deps.policyFor(config);
    const refused = checkHost(request.raw, policy) ?? checkOrigin(request.raw, policy);
    if (refused) throw refused;
    if (request.routeOptions.config.public) return;
    const client = clientKey(request.raw.socket.remoteAddress);
    deps.limiter.assertAllowed(client);
    const { token } = config.gateway.auth;
    if (!tokensMatch(bearerToken(request.raw), token)) {
      deps.limiter.recordFailure(client);
      throw new ApiError('UNAUTHENTICATED', 'Send the gateway token as "Authorization: Bearer <token>"');
    }
  });
}
