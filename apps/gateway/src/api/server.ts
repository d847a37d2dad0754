import { createServer, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { ApiError } from '@multiclaw/protocol';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import type { ConfigFile } from '../config/config-file.js';
import type { GatewayConfig } from '../config/schema.js';
import type { RunService } from '../runs/run-service.js';
import type { LocalStore } from '../store/local-store.js';
import type { AuthFailureLimiter } from './auth-failure-limiter.js';
import { ConnectionLimiter, type ConnectionLimits, DEFAULT_CONNECTION_LIMITS } from './connection-limits.js';
import { checkHost, checkOrigin, type GuardPolicy } from './guard.js';
import { registerHttpGuard } from './http-auth.js';
import { onClientError, rawErrorResponse, registerErrorHandling } from './http-errors.js';
import { registerOpenAIRoutes } from './openai-routes.js';
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
}

export interface ListeningGateway {
  port: number;
  /** Every address actually listened on, e.g. ['127.0.0.1', '::1']. */
  addresses: string[];
  app: FastifyInstance;
  /** Connections open right now, across every listener (what the caps count). */
  openConnections(): number;
  close(): Promise<void>;
}

/**
 * The localhost API: one Fastify app for HTTP and one WebSocketServer for the
 * control protocol, served by a plain HTTP listener per bind address
 * (127.0.0.1 and ::1 for `loopback`). The same guard runs for requests and upgrades.
 */
export async function startGatewayServer(
  deps: GatewayServerDeps,
  options: {
    port: number;
    bind: string;
    tickIntervalMs?: number | undefined;
    connectionLimits?: Partial<ConnectionLimits> | undefined;
  },
): Promise<ListeningGateway> {
  const config = deps.config.cached();
  let handler: RequestListener | undefined;
  const servers: Server[] = [];
  const connections = new ConnectionLimiter(
    { ...DEFAULT_CONNECTION_LIMITS, ...options.connectionLimits },
    deps.log,
  );
  /** Every listener gets the same limits and the same enveloped answer to malformed or slow requests. */
  const listener = (requestHandler: RequestListener | undefined) => {
    const server = createServer(requestHandler);
    connections.attach(server);
    server.on('clientError', onClientError);
    return server;
  };
  const app = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    bodyLimit: config.gateway.maxPayloadBytes,
    genReqId: () => crypto.randomUUID(),
    clientErrorHandler: onClientError,
    serverFactory: (fastifyHandler) => {
      handler = fastifyHandler;
      const server = listener(fastifyHandler);
      servers.push(server);
      return server;
    },
  });
  let port = options.port;
  // Read at request time: `port` is only known once listening, origins follow config reloads.
  const policyFor = (current: GatewayConfig): GuardPolicy => ({
    port,
    extraHosts: options.bind === 'loopback' ? [] : [hostAuthority(options.bind, port)],
    allowedOrigins: current.gateway.allowedOrigins,
  });

  registerErrorHandling(app);
  registerHttpGuard(app, {
    config: deps.config,
    limiter: deps.limiter,
    policyFor,
    onAuthenticated: (socket) => connections.markAuthenticated(socket),
  });
  app.get('/healthz', { config: { public: true } }, async () => ({ status: 'ok' }));
  app.get('/v1/gateway/status', async () => methods.status(undefined));
  registerOpenAIRoutes(app, deps);

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: config.gateway.maxPayloadBytes,
    perMessageDeflate: false,
  });
  const methods = createMethodHandlers(deps);
  const control = new ControlConnections();
  const bootId = crypto.randomUUID();
  const translate = createRunEventTranslator();
  const stopRunEvents = deps.runs.onRunEvent((event) => {
    for (const { event: name, payload } of translate(event)) control.broadcast(name, payload);
  });
  const onUpgrade = async (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    try {
      const current = policyFor(await deps.config.current());
      const refused =
        checkHost(req, current) ??
        checkOrigin(req, current) ??
        (new URL(req.url ?? '/', 'http://gateway').pathname === '/'
          ? undefined
          : new ApiError('NOT_FOUND', 'No such route'));
      // No token check here: it comes in the `connect` frame, where the limiter decides.
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
        methods,
        store: deps.store,
        connections: control,
        version: deps.version,
        bootId,
        startedAt: deps.startedAt,
        origin: req.headers.origin,
        maxPayload: config.gateway.maxPayloadBytes,
        tickIntervalMs: options.tickIntervalMs ?? DEFAULT_TICK_INTERVAL_MS,
        log: deps.log,
        onAuthenticated: () => connections.markAuthenticated(req.socket as Socket),
      }),
    );
  };

  const hosts = options.bind === 'loopback' ? ['127.0.0.1', '::1'] : [options.bind];
  const [first, ...rest] = hosts as [string, ...string[]];
  await app.listen({ host: first, port });
  const primary = servers[0] as Server;
  primary.on('upgrade', onUpgrade);
  port = (primary.address() as AddressInfo).port;
  const addresses = [first];
  for (const host of rest) {
    const server = listener(handler);
    server.on('upgrade', onUpgrade);
    const listened = await new Promise<boolean>((resolve) => {
      server.once('error', (error: NodeJS.ErrnoException) => {
        // A machine without IPv6 loopback still serves on 127.0.0.1.
        if (error.code === 'EADDRNOTAVAIL' || error.code === 'EAFNOSUPPORT') resolve(false);
        else resolve(Promise.reject(error) as never);
      });
      server.listen({ host, port }, () => resolve(true));
    });
    if (listened) {
      servers.push(server);
      addresses.push(host);
    }
  }

  return {
    port,
    addresses,
    app,
    openConnections: () => connections.size,
    close: async () => {
      stopRunEvents();
      control.shutdown('gateway stopping');
      for (const client of wss.clients) client.close(1001, 'gateway stopping');
      wss.close();
      await Promise.all(
        servers.slice(1).map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
      );
      for (const server of servers) server.closeAllConnections();
      await app.close();
    },
  };
}

function hostAuthority(bind: string, port: number): string {
  return bind.includes(':') ? `[${bind}]:${port}` : `${bind}:${port}`;
}

function refuseUpgrade(socket: Duplex, error: ApiError): void {
  socket.end(rawErrorResponse(error, 'upgrade'));
}
