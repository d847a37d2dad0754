import type { Socket } from 'node:net';
import type { ApiError } from '@multiclaw/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ConfigFile } from '../config/config-file.js';
import type { GatewayConfig } from '../config/schema.js';
import type { ExtensionAccess } from '../extension/extension-access.js';
import { checkExtensionRequest, type ExtensionRouteAccess } from '../extension/extension-auth.js';
import type { ExtensionPairing } from '../extension/pairings.js';
import type { AuthFailureLimiter } from './auth-failure-limiter.js';
import { bearerToken, checkHost, checkOrigin, type GuardPolicy } from './guard.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Routes that need no token (Host and Origin are still checked). */
    public?: boolean;
    /** The browser extension's routes: the only ones its pairing code or token opens, and they take no gateway token. */
    extension?: ExtensionRouteAccess;
  }
  interface FastifyRequest {
    /** The paired extension that sent an `extension-token` request. */
    extensionPairing?: ExtensionPairing;
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
    extension?: ExtensionAccess | undefined;
  },
): void {
  app.addHook('onRequest', async (request, reply) => {
    const { extension } = request.routeOptions.config;
    const refused = extension
      ? await extensionRefusalOf(request, extension, deps)
      : await refusalOf(request.raw, request.routeOptions.config.public === true, deps);
    if (refused) {
      reply.header('connection', 'close');
      throw refused;
    }
  });
}

async function extensionRefusalOf(
  request: FastifyRequest,
  access: ExtensionRouteAccess,
  deps: Parameters<typeof registerHttpGuard>[1],
): Promise<ApiError | undefined> {
  const policy = deps.policyFor(await deps.config.current());
  const checked = checkExtensionRequest(request.raw, access, { ...deps, policy });
  if (checked.refused) return checked.refused;
  if (checked.pairing) {
    request.extensionPairing = checked.pairing;
    deps.onAuthenticated(request.raw.socket);
  }
  return undefined;
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
