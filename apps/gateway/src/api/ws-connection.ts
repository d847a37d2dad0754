import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ApiError, GatewayRequestFrame } from '@multiclaw/protocol';
import type { WebSocket } from 'ws';
import type { ConfigFile } from '../config/config-file.js';
import type { LocalStore } from '../store/local-store.js';
import type { AuthFailureLimiter } from './auth-failure-limiter.js';
import { type Admitted, checkConnect } from './connect-check.js';
import { tokensMatch } from './guard.js';
import { helloFor } from './hello.js';
import { admitCall } from './method-call.js';
import { scopeSatisfied } from './method-scopes.js';
import { ProtocolRefusal, toProtocolError } from './protocol-errors.js';
import { type createMethodHandlers, health, TwoPartAnswer } from './ws-methods.js';

export interface ConnectionDeps {
  config: ConfigFile;
  limiter: AuthFailureLimiter;
  methods: ReturnType<typeof createMethodHandlers>;
  store: LocalStore;
  connections: ControlConnections;
  version: string;
  /** Changes on every start of the gateway: a client that sees a new one knows it restarted. */
  bootId: string;
  startedAt: number;
  maxPayload: number;
  /** How often a `tick` is sent and the connection's token re-checked against the config. */
  tickIntervalMs: number;
  /** The browser page's Origin (already checked against gateway.allowedOrigins), if the client is a page. */
  origin: string | undefined;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  now?: () => number;
  /** Called once `connect` succeeded: the connection limits stop treating this socket as a stranger's. */
  onAuthenticated?: () => void;
}

/** OpenClaw's close codes (1002, protocol mismatch: connect-check.ts). */
export const CLOSE_POLICY = 1008;
export const CLOSE_RESTART = 1012;
export const CLOSE_CREDENTIALS_CHANGED = 4001;
const HANDSHAKE_TIMEOUT_MS = 10_000;
export const DEFAULT_TICK_INTERVAL_MS = 30_000;
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

type ControlConnectionHandle = {
  canRead(): boolean;
  sendEvent(event: string, payload: unknown): void;
  shutdown(reason: string): void;
};

/** The control clients connected now: run events and the shutdown notice go to each. */
export class ControlConnections {
  private readonly open = new Set<ControlConnectionHandle>();

  add(connection: ControlConnectionHandle): () => void {
    this.open.add(connection);
    return () => this.open.delete(connection);
  }

  /** To every client allowed to read (run events carry conversation text). */
  broadcast(event: string, payload: unknown): void {
    for (const connection of this.open) if (connection.canRead()) connection.sendEvent(event, payload);
  }

  /** OpenClaw's goodbye: a `shutdown` event, then close 1012. */
  shutdown(reason: string): void {
    for (const connection of [...this.open]) connection.shutdown(reason);
  }
}

/**
 * One control-protocol connection, OpenClaw protocol v4: challenge, `connect`
 * (connect-check.ts), `hello-ok` (hello.ts), then requests (method-call.ts),
 * ticks and, at shutdown, the goodbye. A refused `connect` is answered and the
 * socket closed at once; after it, a malformed frame is answered, and a second
 * one closes the socket.
 */
export function handleConnection(ws: WebSocket, req: IncomingMessage, deps: ConnectionDeps): void {
  const now = deps.now ?? Date.now;
  const connId = randomUUID();
  const remoteAddress = req.socket.remoteAddress;
  const nonce = randomBytes(24).toString('base64url');
  let admitted: Admitted | undefined;
  let violations = 0;
  let eventSeq = 0;
  let leaveRegistry: (() => void) | undefined;
  /** The `connect` being checked: frames behind it wait for its outcome, so frames are handled in order. */
  let handshake: Promise<void> | undefined;

  const send = (frame: object) => {
    if (ws.readyState !== ws.OPEN) return;
    if (ws.bufferedAmount > MAX_BUFFERED_BYTES) return ws.close(1013, 'client too slow');
    ws.send(JSON.stringify(frame));
  };
  const sendEvent = (event: string, payload: unknown) =>
    send({ type: 'event', event, payload, seq: eventSeq++ });
  const respond = (id: string, payload: unknown) => send({ type: 'res', id, ok: true, payload });
  const respondError = (id: string, error: unknown) =>
    send({ type: 'res', id, ok: false, error: toProtocolError(error) });
  /** A malformed frame after the handshake: answered once; the second closes the socket. */
  const violation = (id: string, error: ApiError) => {
    respondError(id, error);
    violations += 1;
    if (violations >= 2) ws.close(CLOSE_POLICY, 'repeated protocol violations');
  };
  /** Refuses the handshake: OpenClaw's error, then the close, with nothing in between. */
  const refuse = (id: string | undefined, error: unknown) => {
    const refusal = error instanceof ProtocolRefusal ? error : new ApiError('INTERNAL', 'connect failed');
    if (id) respondError(id, refusal);
    const code =
      refusal instanceof ProtocolRefusal ? (refusal.extra.closeCode ?? CLOSE_POLICY) : CLOSE_POLICY;
    ws.close(code, refusal.message.slice(0, 120));
  };

  const handshakeTimer = setTimeout(() => ws.close(CLOSE_POLICY, 'connect timeout'), HANDSHAKE_TIMEOUT_MS);
  let ticking = false;
  const tick = setInterval(() => void onTick(), deps.tickIntervalMs);
  ws.on('close', () => {
    clearTimeout(handshakeTimer);
    clearInterval(tick);
    leaveRegistry?.();
  });
  ws.on('error', (error) => deps.log.warn({ err: error, connId }, 'websocket error'));
  ws.on('message', async (data, isBinary) => {
    while (handshake) await handshake.catch(() => undefined);
    if (ws.readyState !== ws.OPEN) return;
    const frame = parseFrame(data.toString(), isBinary);
    if (!admitted) return onFirstFrame(frame);
    if (!frame.ok)
      return violation(frame.id ?? 'unknown', new ApiError('PROTOCOL_INVALID_FRAME', frame.reason));
    return onRequest(frame.request, admitted);
  });
  sendEvent('connect.challenge', { nonce, ts: now() });

  function onFirstFrame(frame: ParsedFrame): Promise<void> | undefined {
    if (!frame.ok) {
      refuse(frame.id, new ProtocolRefusal('INVALID_REQUEST', 'invalid request frame', 'INVALID_FRAME'));
      return;
    }
    const { id, method, params } = frame.request;
    if (method !== 'connect') {
      refuse(
        id,
        new ProtocolRefusal(
          'INVALID_REQUEST',
          'invalid handshake: first request must be connect',
          'CONNECT_REQUIRED',
        ),
      );
      return;
    }
    handshake = connect(id, params)
      .catch((error) => refuse(id, error))
      .finally(() => {
        handshake = undefined;
      });
    return handshake;
  }

  async function connect(id: string, params: unknown): Promise<void> {
    const config = await deps.config.current();
    const granted = checkConnect(params, {
      config,
      limiter: deps.limiter,
      nonce,
      now: now(),
      remoteAddress,
      origin: deps.origin,
    });
    const hello = helloFor(granted, {
      config,
      health: await health({ store: deps.store }, config),
      server: { version: deps.version, connId, bootId: deps.bootId },
      remoteAddress,
      now: now(),
      startedAt: deps.startedAt,
      policy: {
        maxPayload: deps.maxPayload,
        maxBufferedBytes: MAX_BUFFERED_BYTES,
        tickIntervalMs: deps.tickIntervalMs,
      },
    });
    clearTimeout(handshakeTimer);
    admitted = granted;
    deps.onAuthenticated?.();
    leaveRegistry = deps.connections.add({
      canRead: () => scopeSatisfied('operator.read', granted.scopes),
      sendEvent,
      shutdown: (reason) => {
        sendEvent('shutdown', { reason });
        ws.close(CLOSE_RESTART, reason.slice(0, 120));
      },
    });
    deps.log.info(
      { connId, client: granted.params.client.id, scopes: granted.scopes, device: granted.params.device?.id },
      'control client connected',
    );
    respond(id, hello);
  }

  async function onRequest(request: GatewayRequestFrame, session: Admitted): Promise<void> {
    const { id, method, params } = request;
    if (method === 'connect')
      return violation(id, new ApiError('PROTOCOL_INVALID_FRAME', 'Already connected'));
    try {
      const call = admitCall(method, params, session.scopes);
      const handler = deps.methods[call.method] as (params: unknown) => Promise<unknown>;
      const answer = await handler(call.params);
      if (!(answer instanceof TwoPartAnswer)) return respond(id, answer);
      respond(id, answer.payload);
      respond(id, await answer.final);
    } catch (error) {
      if (!(error instanceof ApiError || error instanceof ProtocolRefusal))
        deps.log.warn({ err: error, method }, 'method failed');
      respondError(id, error);
    }
  }

  /** Every tick re-checks the token: a connection made with a rotated one is closed (4001). */
  /**
   * A tick carries the time its timer fired, taken before the token re-check
   * (which reads the config and may take a while on a busy machine), so ticks
   * are `tickIntervalMs` apart as announced; one tick at a time, so they go
   * out in order.
   */
  async function onTick(): Promise<void> {
    if (!admitted || ticking) return;
    ticking = true;
    const ts = now();
    try {
      const { token } = (await deps.config.current()).gateway.auth;
      if (!tokensMatch(admitted.token, token))
        return ws.close(CLOSE_CREDENTIALS_CHANGED, 'gateway token rotated');
    } catch (error) {
      // The config could not be read (the running gateway keeps its last good one): keep the client, say why.
      deps.log.warn({ err: error, connId }, 'tick: could not re-check the token');
    } finally {
      ticking = false;
    }
    sendEvent('tick', { ts });
  }
}

type ParsedFrame =
  | { ok: true; request: GatewayRequestFrame }
  | { ok: false; id: string | undefined; reason: string };

function parseFrame(text: string, isBinary: boolean): ParsedFrame {
  if (isBinary) return { ok: false, id: undefined, reason: 'Binary frames are not accepted' };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, id: undefined, reason: 'Frame is not valid JSON' };
  }
  const frame = GatewayRequestFrame.safeParse(json);
  if (frame.success) return { ok: true, request: frame.data };
  // Echo the id only when it is a valid one: never reflect an empty or oversized string.
  const validId = GatewayRequestFrame.shape.id.safeParse((json as { id?: unknown } | null)?.id);
  return {
    ok: false,
    id: validId.success ? validId.data : undefined,
    reason: 'Frame is not a request frame',
  };
}
