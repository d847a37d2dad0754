import {
  ApiError,
  encodeWsMessage,
  parseWsMessage,
  REALTIME_AUTH_TIMEOUT_MS,
  REALTIME_CLOSE,
  RealtimeClientMessages,
  RealtimeServerMessages,
} from '@multiclaw/protocol';
import type { WebSocket } from 'ws';
import type { BusLogger } from '../../events/listeners.js';
import type { RealtimeClient, RealtimeHub } from './hub.js';

/** Who a token says the socket is, until when. */
export type RealtimeIdentity = { userId: string; sessionId: string; expiresAt: Date };

export type RealtimeConnectionDeps = {
  hub: Pick<RealtimeHub, 'add' | 'remove'>;
  /** Verifies an access token (signature, issuer, audience, type, expiry); throws UNAUTHENTICATED. */
  verifyToken(token: string): Promise<RealtimeIdentity>;
  /** Throws UNAUTHENTICATED unless the session is live. */
  assertSessionLive(sessionId: string, userId: string): Promise<void>;
  now: () => Date;
  logger: BusLogger;
};

/** Malformed frames tolerated, each answered with `realtime.error`; the next one closes the socket. */
export const MAX_VIOLATIONS = 5;
/** A desktop that lets this much pile up unread is dropped rather than held in memory. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

/**
 * One desktop's socket (DESIGN.md §7): the first frame must be `auth.token`
 * within REALTIME_AUTH_TIMEOUT_MS; each `auth.token` is verified like a
 * bearer token (and its session must be live) and answered with `auth.ok`;
 * the socket closes (4401) when the token it last sent expires. A token of
 * another person on the same socket is refused. Events reach it only once
 * signed in, through the hub.
 */
export function openRealtimeConnection(socket: WebSocket, deps: RealtimeConnectionDeps): void {
  const { hub, verifyToken, assertSessionLive, now, logger } = deps;
  let identity: RealtimeIdentity | undefined;
  let signedIn = false;
  let violations = 0;
  let expiry: NodeJS.Timeout | undefined;
  // Frames are handled one at a time: two quick `auth.token`s cannot interleave.
  let queue = Promise.resolve();

  const client: RealtimeClient = {
    get userId() {
      return identity?.userId ?? '';
    },
    get sessionId() {
      return identity?.sessionId ?? '';
    },
    send(frame) {
      if (!signedIn || socket.readyState !== socket.OPEN) return;
      if (socket.bufferedAmount > MAX_BUFFERED_BYTES) {
        logger.warn({ userId: identity?.userId }, 'realtime: a socket stopped reading; dropped');
        socket.terminate();
        return;
      }
      socket.send(frame);
    },
    close,
  };

  function close(code: number, reason: string) {
    signedIn = false;
    if (socket.readyState === socket.OPEN || socket.readyState === socket.CONNECTING)
      socket.close(code, reason);
  }

  function reply(frame: string) {
    if (socket.readyState === socket.OPEN) socket.send(frame);
  }

  function refuse(code: string, message: string, id?: string) {
    reply(encodeWsMessage(RealtimeServerMessages, 'realtime.error', { code, message }, id));
  }

  const authTimer = setTimeout(() => {
    if (!identity) close(REALTIME_CLOSE.UNAUTHENTICATED, 'send auth.token first');
  }, REALTIME_AUTH_TIMEOUT_MS);

  async function authenticate(token: string, id: string | undefined) {
    let claims: RealtimeIdentity;
    try {
      claims = await verifyToken(token);
      if (identity && claims.userId !== identity.userId) {
        throw new ApiError(
          'UNAUTHENTICATED',
          'This socket is signed in as another person; open a new socket',
        );
      }
      const first = !identity;
      if (first) {
        // Held by the hub before the session is checked: a sign-out committed
        // after the check still reaches this socket, one committed before fails it.
        identity = claims;
        await hub.add(client);
      }
      await assertSessionLive(claims.sessionId, claims.userId);
    } catch (error) {
      const known = error instanceof ApiError ? error : undefined;
      if (!known) logger.error({ err: error }, 'realtime: authentication failed');
      refuse(known?.code ?? 'INTERNAL', known?.message ?? 'Authentication failed', id);
      close(REALTIME_CLOSE.UNAUTHENTICATED, 'authentication refused');
      return;
    }
    if (socket.readyState !== socket.OPEN) return;
    identity = claims;
    clearTimeout(authTimer);
    clearTimeout(expiry);
    const remainingMs = claims.expiresAt.getTime() - now().getTime();
    expiry = setTimeout(
      () => close(REALTIME_CLOSE.UNAUTHENTICATED, 'access token expired'),
      Math.max(0, remainingMs),
    );
    signedIn = true;
    reply(
      encodeWsMessage(
        RealtimeServerMessages,
        'auth.ok',
        { userId: claims.userId, expiresAt: claims.expiresAt.toISOString() },
        id,
      ),
    );
  }

  function violation(error: unknown) {
    violations++;
    const known = error instanceof ApiError ? error : new ApiError('PROTOCOL_INVALID_FRAME', 'Invalid frame');
    refuse(known.code, known.message);
    if (violations >= MAX_VIOLATIONS) close(REALTIME_CLOSE.VIOLATIONS, 'too many malformed frames');
  }

  socket.on('message', (data, isBinary) => {
    queue = queue.then(async () => {
      if (socket.readyState !== socket.OPEN) return;
      if (isBinary) return violation(new ApiError('PROTOCOL_INVALID_FRAME', 'Frames are JSON text'));
      let message: ReturnType<typeof parseWsMessage<typeof RealtimeClientMessages>>;
      try {
        message = parseWsMessage(RealtimeClientMessages, String(data));
      } catch (error) {
        return violation(error);
      }
      await authenticate(message.payload.accessToken, message.id);
    });
  });

  socket.on('close', () => {
    signedIn = false;
    clearTimeout(authTimer);
    clearTimeout(expiry);
    if (identity) hub.remove(client);
  });
  socket.on('error', (error) => logger.warn({ err: error }, 'realtime: socket error'));
}
