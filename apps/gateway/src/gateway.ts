import { join } from 'node:path';
import type { Logger } from 'pino';
import { AuthFailureLimiter } from './api/auth-failure-limiter.js';
import type { ConnectionLimits } from './api/connection-limits.js';
import { type ListeningGateway, startGatewayServer } from './api/server.js';
import { ConfigFile } from './config/config-file.js';
import type { GatewayPaths } from './config/paths.js';
import { enforcePrivatePermissions } from './config/permissions.js';
import { createEgress, type Egress, originsFromProviders } from './egress/egress.js';
import { streamCompletion as defaultStreamCompletion } from './providers/index.js';
import type { StreamCompletion } from './providers/types.js';
import { IdempotencyLog } from './runs/idempotency-log.js';
import { RunService } from './runs/run-service.js';
import { LocalStore } from './store/local-store.js';
import { GATEWAY_VERSION } from './version.js';

export interface StartGatewayOptions {
  paths: GatewayPaths;
  log: Logger;
  /** Refuse to start when permissions are looser than 0700/0600 instead of repairing them. */
  strict?: boolean;
  /** Overrides `gateway.port` (0 picks a free port: tests). */
  port?: number;
  /**
   * Extra allowed outbound origins besides the configured providers. The cloud
   * link and the update feed will register theirs here (a later issue).
   */
  extraEgressOrigins?: () => string[];
  streamCompletion?: StreamCompletion;
  limiter?: AuthFailureLimiter;
  /** WebSocket tick period (default 30 s); each tick re-checks the connection's token. */
  tickIntervalMs?: number;
  /** Connection caps and the timeouts for unauthenticated traffic (defaults: connection-limits.ts). */
  connectionLimits?: Partial<ConnectionLimits>;
}

export interface RunningGateway extends ListeningGateway {
  config: ConfigFile;
  store: LocalStore;
  runs: RunService;
  egress: Egress;
  url: string;
}

/** Opens the config and the store, then serves the localhost API. Works with no cloud at all. */
export async function startGateway(options: StartGatewayOptions): Promise<RunningGateway> {
  const { paths, log } = options;
  const config = await ConfigFile.open(paths, {
    strict: options.strict ?? false,
    warn: (message) => log.warn(message),
    onCreated: (path) => log.info({ path }, 'created a new gateway config with a fresh gateway token'),
    onReloadError: (error) =>
      log.error({ problems: error.message }, 'ignoring an invalid edit of the config'),
  });
  await enforcePrivatePermissions(paths, {
    strict: options.strict ?? false,
    warn: (message) => log.warn(message),
  });
  const current = config.cached();
  if (current.gateway.bind !== 'loopback') {
    log.warn(
      { bind: current.gateway.bind },
      'the gateway is listening on a non-loopback address (gateway.allowNonLoopback)',
    );
  }
  const store = await LocalStore.open(paths.storeDir, { warn: (message) => log.warn(message) });
  try {
    const idempotency = await IdempotencyLog.open(join(paths.storeDir, 'idempotency.log'));
    const egress = createEgress({
      allowedOrigins: () => [
        ...originsFromProviders(config.cached().models.providers),
        ...(options.extraEgressOrigins?.() ?? []),
      ],
      log,
    });
    const runs = new RunService({
      config,
      store,
      idempotency,
      egress,
      streamCompletion: options.streamCompletion ?? defaultStreamCompletion,
      log,
    });
    const startedAt = Date.now();
    const server = await startGatewayServer(
      {
        config,
        store,
        runs,
        limiter: options.limiter ?? new AuthFailureLimiter(),
        log,
        version: GATEWAY_VERSION,
        startedAt,
      },
      {
        port: options.port ?? current.gateway.port,
        bind: current.gateway.bind,
        tickIntervalMs: options.tickIntervalMs,
        connectionLimits: { ...current.gateway.connections, ...options.connectionLimits },
      },
    );
    const host = current.gateway.bind === 'loopback' ? '127.0.0.1' : current.gateway.bind;
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${server.port}`;
    return {
      ...server,
      config,
      store,
      runs,
      egress,
      url,
      close: async () => {
        await runs.drain();
        await server.close();
        await store.close();
      },
    };
  } catch (error) {
    await store.close();
    throw error;
  }
}
