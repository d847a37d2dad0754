import { ApiError, REALTIME_PATH } from '@multiclaw/protocol';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { decodeJwt } from 'jose';
import type { Database } from '../../db/client.js';
import type { EventBus } from '../../events/event-bus.js';
import { rateLimited } from '../../plugins/rate-limit.js';
import type { SessionService } from '../identity/sessions/service.js';
import type { AccessTokens } from '../identity/tokens/access-tokens.js';
import { openRealtimeConnection, type RealtimeIdentity } from './connection.js';
import { createRealtimeHub } from './hub.js';
import { createMembershipReader } from './membership-reader.js';

export type RealtimeOptions = {
  db: Pick<Database, 'membership' | 'session'>;
  bus: Pick<EventBus, 'subscribe' | 'onReconnect'>;
  tokens: Pick<AccessTokens, 'verify'>;
  sessions: Pick<SessionService, 'assertActive'>;
  now: () => Date;
  /** How often every socket's memberships and session are re-read, whatever the bus said. */
  revalidateMs?: number;
};

/**
 * `GET /v1/realtime` (register under `/v1`): the desktop's socket (DESIGN.md
 * §7, packages/protocol/src/realtime.ts). The upgrade itself carries no
 * credential: a token in the URL or a header is never read, only the first
 * frame's. Unauthenticated upgrades draw on the default per-client budget.
 */
export const realtimeRoutes: FastifyPluginAsync<RealtimeOptions> = async (app, options) => {
  const { db, bus, tokens, sessions, now, revalidateMs = 30_000 } = options;
  const hub = createRealtimeHub({
    bus,
    reader: createMembershipReader({ db, now }),
    logger: app.log,
    revalidateMs,
  });

  async function verifyToken(token: string): Promise<RealtimeIdentity> {
    const claims = await tokens.verify(token);
    // verify() checked the signature and the expiry; the expiry is read for the socket's own timer.
    const { exp } = decodeJwt(token);
    if (typeof exp !== 'number') throw new ApiError('UNAUTHENTICATED', 'The access token has no expiry');
    return { ...claims, expiresAt: new Date(exp * 1000) };
  }

  const assertSessionLive = (sessionId: string, userId: string) => sessions.assertActive(sessionId, userId);

  function upgradeOnly(request: FastifyRequest) {
    if (!request.ws) {
      throw new ApiError('BAD_REQUEST', `${REALTIME_PATH} is a WebSocket: connect with an upgrade request.`);
    }
  }

  app.get(
    '/realtime',
    {
      websocket: true,
      preValidation: async (request) => upgradeOnly(request),
      config: { ...rateLimited(), errors: ['BAD_REQUEST'] },
    },
    (socket, request) => {
      // What the upgrade leaves attached would live as long as the socket (about 5 KB of
      // heap each, at ten thousand sockets: bench/realtime): @fastify/websocket's error
      // listener holds the request and reply (the connection adds its own), and the TCP
      // socket still points at the upgrade's unused HTTP response (Node's _httpMessage).
      socket.removeAllListeners('error');
      const tcp = request.raw.socket as { _httpMessage?: { detachSocket(socket: unknown): void } | null };
      tcp._httpMessage?.detachSocket(tcp);
      openRealtimeConnection(socket, { hub, verifyToken, assertSessionLive, now, logger: app.log });
    },
  );

  // Before the database closes: every desktop is told to go elsewhere.
  app.addHook('preClose', async () => {
    hub.stop();
    hub.closeAll(1001, 'cloud shutting down');
  });
};
