import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import {
  ApiError,
  ConnectParams,
  GATEWAY_EVENTS,
  GATEWAY_METHODS,
  GATEWAY_PROTOCOL_VERSION,
  GatewayMethods,
  GatewayRequestFrame,
  type HelloOk,
  issuesOf,
} from '@multiclaw/protocol';
import type { WebSocket } from 'ws';
import type { ConfigFile } from '../config/config-file.js';
import type { RunService } from '../runs/run-service.js';
import { toErrorShape } from '../runs/run-service.js';
import type { AuthFailureLimiter } from './auth-failure-limiter.js';
import { tokensMatch } from './guard.js';
import type { createMethodHandlers } from './ws-methods.js';

export interface ConnectionDeps {
  config: ConfigFile;
  runs: RunService;
  limiter: AuthFailureLimiter;
  methods: ReturnType<typeof createMethodHandlers>;
  version: string;
  maxPayload: number;
  /** How often a `tick` is sent and the connection's token re-checked against the config. */
  tickIntervalMs: number;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  /** Called once `connect` succeeded: the connection limits stop treating this socket as a stranger's. */
  onAuthenticated?: () => void;
}

/** Close codes: 1008 policy violation (bad auth, repeated bad frames), 4001 the token was rotated. */
export const CLOSE_POLICY = 1008;
export const CLOSE_TOKEN_ROTATED = 4001;
const HANDSHAKE_TIMEOUT_MS = 10_000;
export const DEFAULT_TICK_INTERVAL_MS = 30_000;
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

/**
 * One control-protocol connection: challenge, `connect` with the token,
 * then requests. Every frame is validated; the first protocol violation gets
 * an error response, the second closes the socket.
 */
export function handleConnection(ws: WebSocket, req: IncomingMessage, deps: ConnectionDeps): void {
  const connId = randomUUID();
  const remoteAddress = req.socket.remoteAddress;
  const nonce = randomBytes(24).toString('base64url');
  let authenticatedToken: string | undefined;
  let violations = 0;
  let eventSeq = 0;
  let unsubscribe: (() => void) | undefined;
  /** The `connect` being checked: frames behind it wait for its outcome, so frames are handled in order. */
  let handshake: Promise<void> | undefined;

  const send = (frame: object) => {
    if (ws.readyState !== ws.OPEN) return;
    if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      ws.close(1013, 'client too slow');
      return;
    }
    ws.send(JSON.stringify(frame));
  };
  const sendEvent = (event: string, payload: unknown) =>
    send({ type: 'event', event, payload, seq: eventSeq++ });
  const respondError = (id: string, error: unknown) =>
    send({ type: 'res', id, ok: false, error: toErrorShape(error) });
  const violation = (id: string, error: ApiError) => {
    respondError(id, error);
    violations += 1;
    if (violations >= 2) ws.close(CLOSE_POLICY, 'repeated protocol violations');
  };

  const handshakeTimer = setTimeout(() => ws.close(CLOSE_POLICY, 'connect timeout'), HANDSHAKE_TIMEOUT_MS);
  const tick = setInterval(async () => {
    if (!authenticatedToken) return;
    const { token } = (await deps.config.current()).gateway.auth;
    if (!tokensMatch(authenticatedToken, token)) ws.close(CLOSE_TOKEN_ROTATED, 'gateway token rotated');
    else sendEvent('tick', { ts: Date.now() });
  }, deps.tickIntervalMs);
  ws.on('close', () => {
    clearTimeout(handshakeTimer);
    clearInterval(tick);
    unsubscribe?.();
  });
  ws.on('error', (error) => deps.log.warn({ err: error, connId }, 'websocket error'));

  sendEvent('connect.challenge', { nonce, ts: Date.now() });

  ws.on('message', async (data, isBinary) => {
    while (handshake) await handshake.catch(() => undefined);
    if (ws.readyState !== ws.OPEN) return;
    if (isBinary)
      return violation('unknown', new ApiError('PROTOCOL_INVALID_FRAME', 'Binary frames are not accepted'));
    let json: unknown;
    try {
      json = JSON.parse(data.toString());
    } catch {
      return violation('unknown', new ApiError('PROTOCOL_INVALID_FRAME', 'Frame is not valid JSON'));
    }
    const frame = GatewayRequestFrame.safeParse(json);
    if (!frame.success) {
      // Echo the id only when it is a valid one: never reflect an empty or oversized string.
      const validId = GatewayRequestFrame.shape.id.safeParse((json as { id?: unknown } | null)?.id);
      const id = validId.success ? validId.data : 'unknown';
      return violation(id, new ApiError('PROTOCOL_INVALID_FRAME', 'Frame is not a request frame'));
    }
    const { id, method, params } = frame.data;

    if (!authenticatedToken) {
      if (method !== 'connect') {
        respondError(id, new ApiError('UNAUTHENTICATED', 'The first frame must be a connect request'));
        return ws.close(CLOSE_POLICY, 'connect first');
      }
      handshake = connect(id, params).finally(() => {
        handshake = undefined;
      });
      return handshake;
    }
    if (method === 'connect')
      return violation(id, new ApiError('PROTOCOL_INVALID_FRAME', 'Already connected'));
    if (!Object.hasOwn(GatewayMethods, method)) {
      return violation(id, new ApiError('PROTOCOL_INVALID_FRAME', `Unknown method "${method}"`));
    }
    const known = method as keyof typeof GatewayMethods;
    const parsed = GatewayMethods[known].params.safeParse(params);
    if (!parsed.success) {
      return violation(
        id,
        new ApiError('VALIDATION_FAILED', `Invalid params for "${method}"`, {
          issues: issuesOf(parsed.error),
        }),
      );
    }
    try {
      const handler = deps.methods[known] as (params: unknown) => Promise<unknown>;
      send({ type: 'res', id, ok: true, payload: await handler(parsed.data) });
    } catch (error) {
      if (!(error instanceof ApiError)) deps.log.warn({ err: error, method }, 'method failed');
      respondError(id, error);
    }
  });

  async function connect(id: string, params: unknown): Promise<void> {
    const parsed = ConnectParams.safeParse(params);
    if (!parsed.success) {
      return violation(
        id,
        new ApiError('VALIDATION_FAILED', 'Invalid connect params', {
          issues: issuesOf(parsed.error),
        }),
      );
    }
    const { auth, minProtocol, maxProtocol } = parsed.data;
    const { token } = (await deps.config.current()).gateway.auth;
    const refused =
      deps.limiter.authenticate(remoteAddress, auth.token, token, 'Send the gateway token in connect') ??
      (parsed.data.nonce === nonce
        ? undefined
        : new ApiError('UNAUTHENTICATED', 'The connect frame must echo the nonce of connect.challenge'));
    if (refused) {
      respondError(id, refused);
      return ws.close(CLOSE_POLICY, refused.code === 'RATE_LIMITED' ? 'rate limited' : 'unauthenticated');
    }
    if (minProtocol > GATEWAY_PROTOCOL_VERSION || maxProtocol < GATEWAY_PROTOCOL_VERSION) {
      respondError(
        id,
        new ApiError(
          'PROTOCOL_UNSUPPORTED_VERSION',
          `This gateway speaks protocol ${GATEWAY_PROTOCOL_VERSION}`,
        ),
      );
      return ws.close(CLOSE_POLICY, 'unsupported protocol');
    }
    clearTimeout(handshakeTimer);
    authenticatedToken = auth.token;
    deps.onAuthenticated?.();
    unsubscribe = deps.runs.onChatEvent((event) => sendEvent('chat', event));
    const hello: HelloOk = {
      type: 'hello-ok',
      protocol: GATEWAY_PROTOCOL_VERSION,
      server: { version: deps.version, connId },
      features: { methods: GATEWAY_METHODS, events: [...GATEWAY_EVENTS] },
      policy: {
        maxPayload: deps.maxPayload,
        maxBufferedBytes: MAX_BUFFERED_BYTES,
        tickIntervalMs: deps.tickIntervalMs,
      },
    };
    deps.log.info({ connId, client: parsed.data.client.id }, 'control client connected');
    send({ type: 'res', id, ok: true, payload: hello });
  }
}
