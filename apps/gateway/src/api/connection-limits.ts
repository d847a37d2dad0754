import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { ApiError, ERROR_CODES } from '@multiclaw/protocol';
import { rawErrorResponse } from '@multiclaw/runtime/http-errors';
import { clientKey } from './guard.js';

export interface ConnectionLimits {
  /** Open connections in total, across every listener. */
  maxConnections: number;
  /** Open connections from one source address. */
  maxConnectionsPerClient: number;
  /** An unauthenticated connection must deliver a request's headers within this (also its idle time). */
  headersTimeoutMs: number;
  /** An unauthenticated request must be answered (its body read) within this after its headers. */
  requestTimeoutMs: number;
}

/**
 * Sized for one desktop, a browser extension and a few CLI calls, and far
 * below the default 1,024 file descriptors a gateway process gets.
 */
export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  maxConnections: 512,
  maxConnectionsPerClient: 256,
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 5_000,
};

interface Tracked {
  client: string;
  authenticated: boolean;
  /** The response being written, while a request is in progress: answers go through it. */
  response: ServerResponse | undefined;
  /** Upgraded to a WebSocket: no HTTP may be written to it any more. */
  upgraded: boolean;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Bounds what local processes can hold open (docs/gateway.md, "Connection
 * limits"). Every socket starts as a stranger's; it becomes authenticated once
 * a request on it carried the right token (or its WebSocket `connect`
 * succeeded). When a cap is reached the oldest stranger's socket is shed to
 * make room; only when every socket is authenticated is the newcomer refused.
 * A stranger must send its headers, and finish its request, within seconds.
 * Every refusal is an error envelope.
 */
export class ConnectionLimiter {
  private readonly sockets = new Map<Socket, Tracked>();
  private readonly perClient = new Map<string, number>();

  constructor(
    private readonly limits: ConnectionLimits,
    private readonly log: { warn(obj: object, msg: string): void },
  ) {}

  /** Must be attached before the listener accepts connections. */
  attach(server: Server): void {
    server.on('connection', (socket: Socket) => this.admit(socket));
    server.on('request', (req: IncomingMessage, res: ServerResponse) => this.onRequest(req, res));
    server.on('upgrade', (req: IncomingMessage) => this.onUpgrade(req));
  }

  markAuthenticated(socket: Socket): void {
    const tracked = this.sockets.get(socket);
    if (!tracked || tracked.authenticated) return;
    tracked.authenticated = true;
    clearTimeout(tracked.timer);
  }

  get size(): number {
    return this.sockets.size;
  }

  private admit(socket: Socket): void {
    const client = clientKey(socket.remoteAddress);
    const roomForClient =
      (this.perClient.get(client) ?? 0) < this.limits.maxConnectionsPerClient ||
      this.shedOldestStranger((tracked) => tracked.client === client);
    const room =
      roomForClient && (this.sockets.size < this.limits.maxConnections || this.shedOldestStranger());
    if (!room) {
      this.log.warn({ client, open: this.sockets.size }, 'refused a connection: connection limit reached');
      refuse(socket, limitReached());
      return;
    }
    const tracked: Tracked = {
      client,
      authenticated: false,
      response: undefined,
      upgraded: false,
      timer: undefined,
    };
    this.sockets.set(socket, tracked);
    this.perClient.set(client, (this.perClient.get(client) ?? 0) + 1);
    socket.once('close', () => this.forget(socket, tracked));
    this.expectHeaders(socket, tracked);
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const socket = req.socket as Socket;
    const tracked = this.sockets.get(socket);
    if (!tracked) return;
    clearTimeout(tracked.timer);
    tracked.response = res;
    if (!tracked.authenticated) {
      tracked.timer = setTimeout(() => {
        if (!tracked.authenticated) answerAndClose(socket, tracked, requestTimedOut());
      }, this.limits.requestTimeoutMs);
    }
    res.once('finish', () => {
      tracked.response = undefined;
      clearTimeout(tracked.timer);
      if (!socket.destroyed) this.expectHeaders(socket, tracked);
    });
  }

  private onUpgrade(req: IncomingMessage): void {
    const tracked = this.sockets.get(req.socket as Socket);
    if (!tracked) return;
    // The WebSocket's own handshake timer takes over (ws-connection.ts).
    clearTimeout(tracked.timer);
    tracked.upgraded = true;
  }

  /** A stranger's socket gets a few seconds for the next request's headers; an authenticated one Node's keep-alive rules. */
  private expectHeaders(socket: Socket, tracked: Tracked): void {
    if (tracked.authenticated) return;
    tracked.timer = setTimeout(() => {
      if (!tracked.response && !tracked.upgraded && !tracked.authenticated)
        answerAndClose(socket, tracked, requestTimedOut());
    }, this.limits.headersTimeoutMs);
  }

  private shedOldestStranger(matches: (tracked: Tracked) => boolean = () => true): boolean {
    for (const [socket, tracked] of this.sockets) {
      if (tracked.authenticated || !matches(tracked)) continue;
      this.forget(socket, tracked);
      answerAndClose(socket, tracked, limitReached());
      return true;
    }
    return false;
  }

  private forget(socket: Socket, tracked: Tracked): void {
    if (!this.sockets.delete(socket)) return;
    clearTimeout(tracked.timer);
    const left = (this.perClient.get(tracked.client) ?? 1) - 1;
    if (left > 0) this.perClient.set(tracked.client, left);
    else this.perClient.delete(tracked.client);
  }
}

const limitReached = () =>
  new ApiError(
    'GATEWAY_CONNECTION_LIMIT',
    'The gateway has too many open connections; close idle ones and retry',
  );

const requestTimedOut = () =>
  new ApiError('REQUEST_TIMEOUT', 'The request was not sent in time; send the whole request at once');

/**
 * Answers in the envelope, through the response of a request in progress or
 * else on the raw socket (which may be mid-way through a request's headers),
 * and closes. An upgraded socket, or a response already started, is only closed.
 */
function answerAndClose(socket: Socket, tracked: Tracked, error: ApiError): void {
  const { response } = tracked;
  if (tracked.upgraded || response?.headersSent) {
    socket.destroy();
  } else if (response) {
    response.shouldKeepAlive = false;
    response.writeHead(ERROR_CODES[error.code].status, {
      'content-type': 'application/json',
      connection: 'close',
    });
    response.end(JSON.stringify(error.toEnvelope('connection')));
    socket.destroySoon();
  } else {
    refuse(socket, error);
  }
}

/** Answers on the raw socket and closes. */
function refuse(socket: Socket, error: ApiError): void {
  if (socket.writable) socket.end(rawErrorResponse(error, 'connection'));
  socket.destroySoon();
  // A peer that never reads must not hold the descriptor: the answer is best effort.
  setTimeout(() => socket.destroy(), 1_000).unref();
}
