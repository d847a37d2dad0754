import {
  ApiError,
  encodeWsMessage,
  parseWsMessage,
  REALTIME_AUTH_TIMEOUT_MS,
  REALTIME_CLOSE,
  RealtimeClientMessages,
  RealtimeServerMessages,
} from '@multiclaw/protocol';
import type { RawData, WebSocket } from 'ws';
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
 *
 * A class, and its socket listeners shared by every socket, because the cloud
 * holds thousands of these idle: per-socket closures (each named one also
 * gets a property dictionary from the bundler's keepNames) cost about as much
 * heap as the socket itself (bench/realtime).
 */
class RealtimeConnection implements RealtimeClient {
  /** Who the socket signed in as ('' until then); the token's expiry lives only in the timer. */
  private user = '';
  private session = '';
  private signedIn = false;
  private violations = 0;
  private authTimer: NodeJS.Timeout | undefined;
  private expiry: NodeJS.Timeout | undefined;
  // Frames are handled one at a time: two quick `auth.token`s cannot interleave.
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly socket: WebSocket,
    private readonly deps: RealtimeConnectionDeps,
  ) {
    this.authTimer = setTimeout(authTimedOut, REALTIME_AUTH_TIMEOUT_MS, this);
  }

  // Getters on the prototype, shared: the hub reads who a socket is, nothing else writes it.
  get userId(): string {
    return this.user;
  }

  get sessionId(): string {
    return this.session;
  }

  send(frame: string): void {
    const { socket } = this;
    if (!this.signedIn || socket.readyState !== socket.OPEN) return;
    if (socket.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.deps.logger.warn({ userId: this.userId }, 'realtime: a socket stopped reading; dropped');
      socket.terminate();
      return;
    }
    socket.send(frame);
  }

  close(code: number, reason: string): void {
    const { socket } = this;
    this.signedIn = false;
    if (socket.readyState === socket.OPEN || socket.readyState === socket.CONNECTING)
      socket.close(code, reason);
  }

  /** No token within the time allowed. */
  authTimedOut(): void {
    this.authTimer = undefined;
    if (!this.userId) this.close(REALTIME_CLOSE.UNAUTHENTICATED, 'send auth.token first');
  }

  frame(data: RawData, isBinary: boolean): void {
    this.queue = this.queue.then(() => this.handle(data, isBinary));
  }

  logError(error: Error): void {
    this.deps.logger.warn({ err: error }, 'realtime: socket error');
  }

  closed(): void {
    this.signedIn = false;
    this.clearTimers();
    if (this.userId) this.deps.hub.remove(this);
  }

  private async handle(data: RawData, isBinary: boolean): Promise<void> {
    if (this.socket.readyState !== this.socket.OPEN) return;
    if (isBinary) return this.violation(new ApiError('PROTOCOL_INVALID_FRAME', 'Frames are JSON text'));
    let message: ReturnType<typeof parseWsMessage<typeof RealtimeClientMessages>>;
    try {
      message = parseWsMessage(RealtimeClientMessages, String(data));
    } catch (error) {
      return this.violation(error);
    }
    await this.authenticate(message.payload.accessToken, message.id);
  }

  private reply(frame: string): void {
    if (this.socket.readyState === this.socket.OPEN) this.socket.send(frame);
  }

  private refuse(code: string, message: string, id?: string): void {
    this.reply(encodeWsMessage(RealtimeServerMessages, 'realtime.error', { code, message }, id));
  }

  private async authenticate(token: string, id: string | undefined): Promise<void> {
    const { hub, verifyToken, assertSessionLive, now, logger } = this.deps;
    let claims: RealtimeIdentity;
    try {
      claims = await verifyToken(token);
      if (this.userId && claims.userId !== this.userId) {
        throw new ApiError(
          'UNAUTHENTICATED',
          'This socket is signed in as another person; open a new socket',
        );
      }
      if (!this.userId) {
        // Held by the hub before the session is checked: a sign-out committed
        // after the check still reaches this socket, one committed before fails it.
        this.user = claims.userId;
        this.session = claims.sessionId;
        await hub.add(this);
      }
      await assertSessionLive(claims.sessionId, claims.userId);
    } catch (error) {
      const known = error instanceof ApiError ? error : undefined;
      if (!known) logger.error({ err: error }, 'realtime: authentication failed');
      this.refuse(known?.code ?? 'INTERNAL', known?.message ?? 'Authentication failed', id);
      this.close(REALTIME_CLOSE.UNAUTHENTICATED, 'authentication refused');
      return;
    }
    if (this.socket.readyState !== this.socket.OPEN) return;
    this.session = claims.sessionId;
    this.clearTimers();
    const remainingMs = claims.expiresAt.getTime() - now().getTime();
    this.expiry = setTimeout(expired, Math.max(0, remainingMs), this);
    this.signedIn = true;
    this.reply(
      encodeWsMessage(
        RealtimeServerMessages,
        'auth.ok',
        { userId: claims.userId, expiresAt: claims.expiresAt.toISOString() },
        id,
      ),
    );
  }

  private violation(error: unknown): void {
    this.violations++;
    const known = error instanceof ApiError ? error : new ApiError('PROTOCOL_INVALID_FRAME', 'Invalid frame');
    this.refuse(known.code, known.message);
    if (this.violations >= MAX_VIOLATIONS) this.close(REALTIME_CLOSE.VIOLATIONS, 'too many malformed frames');
  }

  private clearTimers(): void {
    clearTimeout(this.authTimer);
    clearTimeout(this.expiry);
    this.authTimer = undefined;
    this.expiry = undefined;
  }
}

// Shared by every socket: a listener's `this` is the socket it was added to.
const connections = new WeakMap<WebSocket, RealtimeConnection>();

function authTimedOut(connection: RealtimeConnection) {
  connection.authTimedOut();
}

function expired(connection: RealtimeConnection) {
  connection.close(REALTIME_CLOSE.UNAUTHENTICATED, 'access token expired');
}

function onMessage(this: WebSocket, data: RawData, isBinary: boolean) {
  connections.get(this)?.frame(data, isBinary);
}

function onClose(this: WebSocket) {
  connections.get(this)?.closed();
  connections.delete(this);
}

function onError(this: WebSocket, error: Error) {
  connections.get(this)?.logError(error);
}

export function openRealtimeConnection(socket: WebSocket, deps: RealtimeConnectionDeps): void {
  connections.set(socket, new RealtimeConnection(socket, deps));
  socket.on('message', onMessage);
  socket.on('close', onClose);
  socket.on('error', onError);
}
