import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { ApiError, GatewayStatus, type GatewaySyncStatus } from '@multiclaw/protocol';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import { z } from 'zod';
import type { ConfigFile } from '../config/config-file.js';
import type { GatewayConfig } from '../config/schema.js';
import type { ExtensionAccess } from '../extension/extension-access.js';
import { registerExtensionRoutes } from '../extension/extension-routes.js';
import type { LinkStatus } from '../link/cloud-link.js';
import type { WorkspaceAgents } from '../link/workspace-agents.js';
import { registerRecordingRoutes } from '../recordings/recording-routes.js';
import type { RecordingStore } from '../recordings/recording-store.js';
import type { RunService } from '../runs/run-service.js';
import type { LocalStore } from '../store/local-store.js';
import type { AuthFailureLimiter } from './auth-failure-limiter.js';
import { ConnectionLimiter, type ConnectionLimits, DEFAULT_CONNECTION_LIMITS } from './connection-limits.js';
import { checkHost, checkOrigin, type GuardPolicy } from './guard.js';
import { registerHttpGuard } from './http-auth.js';
import {
  answerFrameworkError,
  onClientError,
  rawErrorResponse,
  registerErrorHandling,
} from './http-errors.js';
import { registerOpenAIRoutes } from './openai-routes.js';
import { useZodSchemas, zodSchemaController } from './route-schemas.js';
import { createRunEventTranslator } from './run-events.js';
import { ControlConnections, DEFAULT_TICK_INTERVAL_MS, handleConnection } from './ws-connection.js';
import { createMethodHandlers } from './ws-methods.js';

export interface GatewayServerDeps {
  config: ConfigFile;
  store: LocalStore;
  runs: RunService;
  limiter: AuthFailureLimiter;
  log: Logger;
  version: string;
  startedAt: number;
  /** The cloud link's workspace agents and state (absent: a gateway with no link service). */
  workspaceAgents?: WorkspaceAgents;
  link?: { status(): LinkStatus };
  /** The transcript sync's state, for `status`. */
  sync?: { status(): GatewaySyncStatus };
  /** Browser recordings and the extension's pairing (absent: no extension routes at all). */
  recordings?: RecordingStore;
  extension?: ExtensionAccess;
}

export interface GatewayServerOptions {
  /** `gateway.bind`: `loopback` (127.0.0.1 and ::1) or the one address of an allowed non-loopback bind. */
  bind: string;
  /** 0: a free port, picked when listening. */
  port: number;
  tickIntervalMs?: number | undefined;
  connectionLimits?: Partial<ConnectionLimits> | undefined;
}

/** The localhost API, built and wired but not listening (listen.ts serves it). */
export interface GatewayServer {
  /** The HTTP routes. `app.server` is the first listener; `app.inject()` needs none. */
  app: FastifyInstance;
  /** Where requests must say they are going (the Host guard); the port is set once a listener has one. */
  readonly address: { readonly bind: string; port: number };
  /** Another listener for the same API: the same routes, upgrades, connection limits and client-error answers. */
  createListener(): Server;
  /** Every HTTP route, as registered, with its auth config (tests walk it). */
  routes(): ReadonlyArray<{ method: string; url: string; public: boolean; extension?: string }>;
  /** Connections open right now, across every listener (what the caps count). */
  openConnections(): number;
  /** Run events stop; each control client gets OpenClaw's `shutdown` event, then close 1012. Once. */
  closeControl(reason: string): void;
  /** The control protocol, then the app (and its listener, when listening). Once. */
  close(): Promise<void>;
}

/**
 * One Fastify app for HTTP and one WebSocketServer for the control protocol,
 * served by plain node:http listeners that all count against the same
 * connection limits. The same Host and Origin guard runs for requests and
 * upgrades.
 */
export function buildServer(deps: GatewayServerDeps, options: GatewayServerOptions): GatewayServer {
  const { maxPayloadBytes } = deps.config.cached().gateway;
  const address = { bind: options.bind, port: options.port };
  // Read per request: the port is known once listening, origins follow config reloads.
  const policyFor = (current: GatewayConfig): GuardPolicy => ({
    port: address.port,
    extraHosts: address.bind === 'loopback' ? [] : [hostAuthority(address.bind, address.port)],
    allowedOrigins: current.gateway.allowedOrigins,
  });
  const connections = new ConnectionLimiter(
    { ...DEFAULT_CONNECTION_LIMITS, ...options.connectionLimits },
    deps.log,
  );
  const methods = createMethodHandlers(deps);
  const control = controlProtocol(deps, {
    methods,
    policyFor,
    maxPayload: maxPayloadBytes,
    tickIntervalMs: options.tickIntervalMs ?? DEFAULT_TICK_INTERVAL_MS,
    onAuthenticated: (socket) => connections.markAuthenticated(socket),
  });

  let routes: RequestListener | undefined;
  const createListener = () => {
    const server = createServer(routes);
    connections.attach(server);
    server.on('clientError', onClientError);
    server.on('upgrade', control.onUpgrade);
    return server;
  };
  const app = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    bodyLimit: maxPayloadBytes,
    genReqId: () => randomUUID(),
    clientErrorHandler: onClientError,
    frameworkErrors: answerFrameworkError,
    schemaController: zodSchemaController,
    // Fastify's own server is the first listener; listen.ts adds one per further address.
    serverFactory: (handler) => {
      routes = handler;
      return createListener();
    },
  });

  const routeTable: ReturnType<GatewayServer['routes']>[number][] = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat())
      routeTable.push({
        method,
        url: route.url,
        public: route.config?.public === true,
        ...(route.config?.extension ? { extension: route.config.extension } : {}),
      });
  });
  registerErrorHandling(app);
  useZodSchemas(app);
  registerHttpGuard(app, {
    config: deps.config,
    limiter: deps.limiter,
    policyFor,
    onAuthenticated: (socket) => connections.markAuthenticated(socket),
    extension: deps.extension,
  });
  app.get(
    '/healthz',
    { config: { public: true }, schema: { response: { 200: z.object({ status: z.literal('ok') }) } } },
    async () => ({ status: 'ok' }),
  );
  app.get('/v1/gateway/status', { schema: { response: { 200: GatewayStatus } } }, async () =>
    methods.status(undefined),
  );
  registerOpenAIRoutes(app, deps);
  if (deps.extension) registerExtensionRoutes(app, deps.extension);
  if (deps.recordings) registerRecordingRoutes(app, deps.recordings);

  let closed: Promise<void> | undefined;
  return {
    app,
    address,
    createListener,
    routes: () => routeTable,
    openConnections: () => connections.size,
    closeControl: control.close,
    close: () => {
      closed ??= (async () => {
        control.close('gateway stopping');
        await app.close();
      })();
      return closed;
    },
  };
}

/**
 * OpenClaw's control protocol over WebSocket at `/`. An upgrade passes the
 * Host and Origin guard; the token comes in the `connect` frame, where the
 * limiter decides (ws-connection.ts). Run events go to every client allowed
 * to read them.
 */
function controlProtocol(
  deps: GatewayServerDeps,
  options: {
    methods: ReturnType<typeof createMethodHandlers>;
    policyFor: (config: GatewayConfig) => GuardPolicy;
    maxPayload: number;
    tickIntervalMs: number;
    onAuthenticated: (socket: Socket) => void;
  },
) {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: options.maxPayload,
    perMessageDeflate: false,
  });
  const clients = new ControlConnections();
  const bootId = randomUUID();
  const translate = createRunEventTranslator();
  const stopRunEvents = deps.runs.onRunEvent((event) => {
    for (const { event: name, payload } of translate(event)) clients.broadcast(name, payload);
  });

  const onUpgrade = async (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    try {
      const current = options.policyFor(await deps.config.current());
      const refused =
        checkHost(req, current) ??
        checkOrigin(req, current) ??
        // A paired extension's origin may append recordings over HTTP and do nothing else.
        (deps.extension?.isExtensionOrigin(req.headers.origin)
          ? new ApiError(
              'GATEWAY_ORIGIN_NOT_ALLOWED',
              'The browser extension cannot use the control protocol',
            )
          : undefined) ??
        (new URL(req.url ?? '/', 'http://gateway').pathname === '/'
          ? undefined
          : new ApiError('NOT_FOUND', 'No such route'));
      if (refused) return refuseUpgrade(socket, refused);
    } catch (error) {
      return refuseUpgrade(
        socket,
        error instanceof ApiError ? error : new ApiError('INTERNAL', 'upgrade failed'),
      );
    }
    wss.handleUpgrade(req, socket, head, (ws) =>
      handleConnection(ws, req, {
        config: deps.config,
        limiter: deps.limiter,
        methods: options.methods,
        store: deps.store,
        connections: clients,
        version: deps.version,
        bootId,
        startedAt: deps.startedAt,
        origin: req.headers.origin,
        maxPayload: options.maxPayload,
        tickIntervalMs: options.tickIntervalMs,
        log: deps.log,
        onAuthenticated: () => options.onAuthenticated(req.socket as Socket),
      }),
    );
  };

  let closed = false;
  const close = (reason: string) => {
    if (closed) return;
    closed = true;
    stopRunEvents();
    clients.shutdown(reason);
    for (const client of wss.clients) client.close(1001, reason);
    wss.close();
  };
  return { onUpgrade, close };
}

function hostAuthority(bind: string, port: number): string {
  return bind.includes(':') ? `[${bind}]:${port}` : `${bind}:${port}`;
}

function refuseUpgrade(socket: Duplex, error: ApiError): void {
  socket.end(rawErrorResponse(error, 'upgrade'));
}
