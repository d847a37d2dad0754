import {
  ApiError,
  GATEWAY_LINK_PATH,
  LINK_CLOSE,
  LINK_HEARTBEAT_MS,
  LINK_VERSIONS_HEADER,
} from '@multiclaw/protocol';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import type { Database } from '../../db/client.js';
import type { EventBus } from '../../events/event-bus.js';
import { rateLimited } from '../../plugins/rate-limit.js';
import { loadAgentsConfig } from './agents-config.js';
import type { LinkAssertions, VerifiedAssertion } from './assertion.js';
import { createLinkHub } from './hub.js';
import { createLinkPresence } from './presence.js';
import { createLinkSession, type SecretSource, type SyncApplier } from './session.js';
import { negotiateLinkVersion } from './versions.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** On the link's upgrade request, once its assertion and versions checked out. */
    gatewayLink: (VerifiedAssertion & { version: number }) | null;
  }
}

export type GatewayLinkOptions = {
  db: Database;
  now: () => Date;
  bus: Pick<EventBus, 'publish' | 'subscribe' | 'onReconnect'>;
  assertions: Pick<LinkAssertions, 'verify'>;
  secrets: SecretSource;
  sync: SyncApplier;
  /** How often each end sends `link.heartbeat`; LINK_HEARTBEAT_MS unless a test needs it quicker. */
  heartbeatMs?: number;
};

/** The assertion from `Authorization: Bearer …`, else a refusal. */
function bearerOf(request: FastifyRequest): string {
  const match = /^Bearer ([A-Za-z0-9_.-]{1,4096})$/.exec(request.headers.authorization ?? '');
  if (!match?.[1]) {
    throw new ApiError(
      'LINK_AUTH_INVALID',
      'The link upgrade needs `Authorization: Bearer <assertion>`, a fresh assertion signed by the gateway key.',
    );
  }
  return match[1];
}

/**
 * `GET /v1/gateway-link` (register under `/v1`): the gateway's one outbound
 * WebSocket (DESIGN.md §7). The upgrade is refused with the HTTP error
 * envelope before any socket exists unless its versions meet ours (426) and
 * its assertion checks out (401; 403 for a revoked gateway or a departed
 * owner); it draws on the default per-client budget (429) like the other
 * routes that take no bearer token. Then the socket is a link session, held
 * by this instance's hub.
 */
export const gatewayLinkRoutes: FastifyPluginAsync<GatewayLinkOptions> = async (app, options) => {
  const { db, now, bus, assertions, secrets, sync, heartbeatMs = LINK_HEARTBEAT_MS } = options;
  const presence = createLinkPresence({ db, now, bus, logger: app.log });
  const loadAgents = (workspaceId: string) => loadAgentsConfig(db, workspaceId);
  const hub = createLinkHub({ db, bus, loadAgents, logger: app.log });

  app.decorateRequest('gatewayLink', null);

  async function authenticate(request: FastifyRequest) {
    if (!request.ws) {
      throw new ApiError(
        'BAD_REQUEST',
        `${GATEWAY_LINK_PATH} is a WebSocket: connect with an upgrade request.`,
      );
    }
    const version = negotiateLinkVersion(request.headers[LINK_VERSIONS_HEADER]);
    const verified = await assertions.verify(bearerOf(request));
    request.gatewayLink = { ...verified, version };
  }

  async function open(socket: WebSocket, request: FastifyRequest) {
    const link = request.gatewayLink;
    if (!link) throw new Error('gateway link: upgrade without a verified assertion');
    const { gateway } = link;
    const openedAt = now();
    const session = createLinkSession({
      socket,
      gateway,
      version: link.version,
      authExpiresAt: link.expiresAt,
      openedAt,
      now,
      heartbeatMs,
      assertions,
      presence,
      secrets,
      sync,
      agentsConfig: () => loadAgents(gateway.workspaceId),
      logger: request.log,
    });
    // Held before the database is asked again, so a revoke published meanwhile reaches it.
    hub.add(session);
    if (!(await presence.opened(gateway, openedAt))) {
      session.close(LINK_CLOSE.REVOKED, 'gateway revoked');
      return;
    }
    request.log.info(
      { gatewayId: gateway.id, workspaceId: gateway.workspaceId, version: link.version },
      'gateway link: open',
    );
    await session.start();
  }

  app.get(
    '/gateway-link',
    {
      websocket: true,
      preValidation: authenticate,
      config: {
        ...rateLimited(),
        errors: ['LINK_AUTH_INVALID', 'LINK_GATEWAY_REVOKED', 'LINK_VERSION_UNSUPPORTED', 'BAD_REQUEST'],
      },
    },
    open,
  );

  // Before the database closes: each socket is told, and its presence cleared.
  app.addHook('preClose', async () => {
    await hub.closeAll(1001, 'cloud shutting down');
  });
};
