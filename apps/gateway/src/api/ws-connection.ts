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
import type { LocalStore } from '../store/local-store.js';
import type { AuthFailureLimiter } from './auth-failure-limiter.js';
import { verifyDeviceIdentity } from './device-identity.js';
import { tokensMatch } from './guard.js';
import { isScopedMethod, METHOD_SCOPES, missingScope, OPERATOR_SCOPES } from './method-scopes.js';
import { ProtocolRefusal, toProtocolError } from './protocol-errors.js';
import { defaultAgentId, MAIN_KEY } from './session-refs.js';
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

/** OpenClaw's close codes. */
export const CLOSE_PROTOCOL_MISMATCH = 1002;
export const CLOSE_POLICY = 1008;
export const CLOSE_RESTART = 1012;
export const CLOSE_CREDENTIALS_CHANGED = 4001;
const HANDSHAKE_TIMEOUT_MS = 10_000;
export const DEFAULT_TICK_INTERVAL_MS = 30_000;
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
const OPERATOR_ROLE = 'operator';

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
 * (protocol range, role, token, device identity, scopes), then requests, each
 * checked against the scope its method needs. A refused `connect` is answered
 * and the socket closed at once; after it, a malformed frame is answered, and
 * a second one closes the socket.
 */
export function handleConnection(ws: WebSocket, req: IncomingMessage, deps: ConnectionDeps): void {
  const now = deps.now ?? Date.now;
  const connId = randomUUID();
  const remoteAddress = req.socket.remoteAddress;
  const nonce = randomBytes(24).toString('base64url');
  let session: { token: string; scopes: string[] } | undefined;
  let violations = 0;
  let eventSeq = 0;
  let removeFromRegistry: (() => void) | undefined;
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
  const respond = (id: string, payload: unknown) => send({ type: 'res', id, ok: true, payload });
  const respondError = (id: string, error: unknown) =>
    send({ type: 'res', id, ok: false, error: toProtocolError(error) });
  const violation = (id: string, error: ApiError) => {
    respondError(id, error);
    violations += 1;
    if (violations >= 2) ws.close(CLOSE_POLICY, 'repeated protocol violations');
  };
  /** Refuses the handshake: OpenClaw's error, then the close, with nothing in between. */
  const refuse = (id: string | undefined, error: ProtocolRefusal | ApiError, code = CLOSE_POLICY) => {
    if (id) respondError(id, error);
    ws.close(code, error.message.slice(0, 120));
  };

  const handshakeTimer = setTimeout(() => ws.close(CLOSE_POLICY, 'connect timeout'), HANDSHAKE_TIMEOUT_MS);
  const tick = setInterval(async () => {
    if (!session) return;
    try {
      const { token } = (await deps.config.current()).gateway.auth;
      if (!tokensMatch(session.token, token)) ws.close(CLOSE_CREDENTIALS_CHANGED, 'gateway token rotated');
      else sendEvent('tick', { ts: now() });
    } catch (error) {
      // The config could not be read (the running gateway keeps its last good one): keep the client, say why.
      deps.log.warn({ err: error, connId }, 'tick: could not re-check the token');
      sendEvent('tick', { ts: now() });
    }
  }, deps.tickIntervalMs);
  ws.on('close', () => {
    clearTimeout(handshakeTimer);
    clearInterval(tick);
    removeFromRegistry?.();
  });
  ws.on('error', (error) => deps.log.warn({ err: error, connId }, 'websocket error'));

  sendEvent('connect.challenge', { nonce, ts: now() });

  ws.on('message', async (data, isBinary) => {
    while (handshake) await handshake.catch(() => undefined);
    if (ws.readyState !== ws.OPEN) return;
    const frame = parseFrame(data.toString(), isBinary);
    if (!session) {
      if (!frame.ok)
        return refuse(
          frame.id,
          new ProtocolRefusal('INVALID_REQUEST', 'invalid request frame', 'INVALID_FRAME'),
        );
      if (frame.request.method !== 'connect')
        return refuse(
          frame.request.id,
          new ProtocolRefusal(
            'INVALID_REQUEST',
            'invalid handshake: first request must be connect',
            'CONNECT_REQUIRED',
          ),
        );
      const { id, params } = frame.request;
      handshake = connect(id, params)
        .catch((error) =>
          refuse(id, error instanceof ProtocolRefusal ? error : new ApiError('INTERNAL', 'connect failed')),
        )
        .finally(() => {
          handshake = undefined;
        });
      return handshake;
    }
    if (!frame.ok)
      return violation(frame.id ?? 'unknown', new ApiError('PROTOCOL_INVALID_FRAME', frame.reason));
    const { id, method, params } = frame.request;
    if (method === 'connect')
      return violation(id, new ApiError('PROTOCOL_INVALID_FRAME', 'Already connected'));
    if (!Object.hasOwn(GatewayMethods, method) || !isScopedMethod(method))
      return respondError(
        id,
        new ProtocolRefusal('INVALID_REQUEST', `unknown method: ${method}`, 'UNKNOWN_METHOD'),
      );
    const lacking = missingScope(method, session.scopes);
    if (lacking)
      return respondError(
        id,
        new ProtocolRefusal('FORBIDDEN', `missing scope: ${lacking}`, 'MISSING_SCOPE', {
          details: { missingScope: lacking, requiredScopes: [METHOD_SCOPES[method]] },
        }),
      );
    const known = method as keyof typeof GatewayMethods;
    const parsed = GatewayMethods[known].params.safeParse(params);
    if (!parsed.success)
      return respondError(
        id,
        new ApiError('VALIDATION_FAILED', `invalid ${method} params`, { issues: issuesOf(parsed.error) }),
      );
    try {
      const handler = deps.methods[known] as (params: unknown) => Promise<unknown>;
      const answer = await handler(parsed.data);
      if (!(answer instanceof TwoPartAnswer)) return respond(id, answer);
      respond(id, answer.payload);
      respond(id, await answer.final);
    } catch (error) {
      if (!(error instanceof ApiError)) deps.log.warn({ err: error, method }, 'method failed');
      respondError(id, error);
    }
  });

  async function connect(id: string, raw: unknown): Promise<void> {
    const parsed = ConnectParams.safeParse(raw);
    if (!parsed.success) {
      const issues = issuesOf(parsed.error);
      const summary = issues.map((issue) => `${issue.path || '/'}: ${issue.message}`).join('; ');
      throw new ProtocolRefusal(
        'INVALID_REQUEST',
        `invalid connect params: ${summary}`,
        'INVALID_CONNECT_PARAMS',
        {
          details: { issues },
        },
      );
    }
    const params = parsed.data;
    if (params.maxProtocol < GATEWAY_PROTOCOL_VERSION || params.minProtocol > GATEWAY_PROTOCOL_VERSION) {
      return refuse(
        id,
        new ProtocolRefusal('INVALID_REQUEST', 'protocol mismatch', 'PROTOCOL_MISMATCH', {
          details: {
            clientMinProtocol: params.minProtocol,
            clientMaxProtocol: params.maxProtocol,
            expectedProtocol: GATEWAY_PROTOCOL_VERSION,
          },
        }),
        CLOSE_PROTOCOL_MISMATCH,
      );
    }
    const role = params.role ?? OPERATOR_ROLE;
    // OpenClaw's `node` role (devices that run commands for the gateway) has no counterpart here.
    if (role !== OPERATOR_ROLE)
      throw new ProtocolRefusal('INVALID_REQUEST', 'invalid role', 'ROLE_UNSUPPORTED', { details: { role } });

    const config = await deps.config.current();
    const presented = params.auth?.token;
    const authFailure = deps.limiter.authenticate(remoteAddress, presented, config.gateway.auth.token, '');
    if (authFailure) throw authRefusal(authFailure, presented !== undefined);

    if (params.device) {
      const check = verifyDeviceIdentity(
        {
          device: params.device,
          client: params.client,
          role,
          scopes: params.scopes ?? [],
          auth: params.auth,
        },
        { challengeNonce: nonce, now: now() },
      );
      if (!check.ok) throw new ProtocolRefusal('INVALID_REQUEST', check.message, check.detailCode);
    } else if (deps.origin) {
      // A page in a browser must prove a device key of its own: the token alone could have leaked into it.
      throw new ProtocolRefusal('NOT_PAIRED', 'device identity required', 'DEVICE_IDENTITY_REQUIRED');
    }

    // A client gets the scopes it asked for that exist; nothing it did not ask for.
    const scopes = [...new Set(params.scopes ?? [])].filter((scope) =>
      (OPERATOR_SCOPES as readonly string[]).includes(scope),
    );
    clearTimeout(handshakeTimer);
    session = { token: presented as string, scopes };
    deps.onAuthenticated?.();
    removeFromRegistry = deps.connections.add({
      canRead: () => missingScope('chat.history', scopes) === undefined,
      sendEvent,
      shutdown: (reason) => {
        sendEvent('shutdown', { reason });
        ws.close(CLOSE_RESTART, reason.slice(0, 120));
      },
    });
    const defaultAgent = defaultAgentId(config);
    const hello: HelloOk = {
      type: 'hello-ok',
      protocol: GATEWAY_PROTOCOL_VERSION,
      server: { version: deps.version, connId, bootId: deps.bootId },
      features: { methods: [...GATEWAY_METHODS], events: [...GATEWAY_EVENTS] },
      snapshot: {
        presence: [
          {
            ts: now(),
            clientId: params.client.id,
            mode: params.client.mode,
            platform: params.client.platform,
            version: params.client.version,
            ...(remoteAddress ? { ip: remoteAddress } : {}),
          },
        ],
        health: await health({ store: deps.store }, config),
        stateVersion: { presence: 0, health: 0 },
        uptimeMs: now() - deps.startedAt,
        sessionDefaults: {
          defaultAgentId: defaultAgent,
          mainKey: MAIN_KEY,
          mainSessionKey: `agent:${defaultAgent}:${MAIN_KEY}`,
        },
        authMode: 'token',
      },
      auth: { role, scopes, method: 'token' },
      policy: {
        maxPayload: deps.maxPayload,
        maxBufferedBytes: MAX_BUFFERED_BYTES,
        tickIntervalMs: deps.tickIntervalMs,
      },
    };
    deps.log.info(
      { connId, client: params.client.id, scopes, device: params.device?.id },
      'control client connected',
    );
    respond(id, hello);
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

/** The limiter's answer in OpenClaw's words: a missing or wrong token, or too many wrong ones. */
function authRefusal(failure: ApiError, tokenSent: boolean): ProtocolRefusal {
  if (failure.code === 'RATE_LIMITED') {
    const seconds = Number(failure.details?.retryAfterSeconds ?? 60);
    return new ProtocolRefusal(
      'INVALID_REQUEST',
      'unauthorized: too many failed authentication attempts (retry later)',
      'AUTH_RATE_LIMITED',
      { retryAfterMs: seconds * 1000, details: { authReason: 'rate_limited' } },
    );
  }
  return tokenSent
    ? new ProtocolRefusal(
        'INVALID_REQUEST',
        "unauthorized: gateway token mismatch (use this gateway's gateway.auth.token from openclaw.json)",
        'AUTH_TOKEN_MISMATCH',
        { details: { authReason: 'token_mismatch' } },
      )
    : new ProtocolRefusal(
        'INVALID_REQUEST',
        "unauthorized: gateway token missing (send this gateway's gateway.auth.token in connect.auth.token)",
        'AUTH_TOKEN_MISSING',
        { details: { authReason: 'token_missing' } },
      );
}
