import { join } from 'node:path';
import type { Logger } from 'pino';
import { AuthFailureLimiter } from './api/auth-failure-limiter.js';
import type { ConnectionLimits } from './api/connection-limits.js';
import { type ListeningGateway, listen } from './api/listen.js';
import { buildServer, type GatewayServer } from './api/server.js';
import { ConfigFile } from './config/config-file.js';
import type { GatewayPaths } from './config/paths.js';
import { enforcePrivatePermissions } from './config/permissions.js';
import { createEgress, type Egress, originsFromProviders } from './egress/egress.js';
import { ExtensionAccess } from './extension/extension-access.js';
import { ExtensionPairings } from './extension/pairings.js';
import { identityPaths } from './link/identity.js';
import { LinkService } from './link/link-service.js';
import type { LinkTimers } from './link/link-timers.js';
import { WorkspaceAgents } from './link/workspace-agents.js';
import { streamCompletion as defaultStreamCompletion } from './providers/index.js';
import type { StreamCompletion } from './providers/types.js';
import { RecordingStore } from './recordings/recording-store.js';
import { renderSkills } from './recordings/skill-format.js';
import { IdempotencyLog } from './runs/idempotency-log.js';
import { RunService } from './runs/run-service.js';
import { LocalStore } from './store/local-store.js';
import { SyncService } from './sync/sync-service.js';
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
  /** The cloud link's clock and timers (tests), and how often it re-reads identity/link.json. */
  linkTimers?: LinkTimers;
  linkPollMs?: number;
}

/** Every service of the gateway, wired, and its localhost API built but not listening. */
export interface BuiltGateway {
  config: ConfigFile;
  store: LocalStore;
  runs: RunService;
  egress: Egress;
  /** The cloud link (not started: startGateway starts it after listening). */
  link: LinkService;
  /** The transcript sync outbox, following the link. */
  sync: SyncService;
  /** Browser recordings and the extension's pairing (docs/extension.md). */
  recordings: RecordingStore;
  extension: ExtensionAccess;
  server: GatewayServer;
  /** Drains the runs, closes the API, then the store. */
  close(): Promise<void>;
}

export interface RunningGateway extends ListeningGateway {
  config: ConfigFile;
  store: LocalStore;
  runs: RunService;
  egress: Egress;
  link: LinkService;
  sync: SyncService;
  recordings: RecordingStore;
  extension: ExtensionAccess;
  /** Every HTTP route with its auth config (tests walk it). */
  routes: GatewayServer['routes'];
}

/**
 * The composition root: the config, the store, outbound requests (only
 * through egress, only to configured providers), the runs on them, and the
 * localhost API. Builds and never listens (startGateway, or a test, does).
 * Works with no cloud at all.
 */
export async function buildGateway(options: StartGatewayOptions): Promise<BuiltGateway> {
  const { paths, log } = options;
  const config = await openConfig(paths, log, options.strict ?? false);
  const { gateway } = config.cached();
  const store = await LocalStore.open(paths.storeDir, { warn: (message) => log.warn(message) });
  try {
    // The cloud link's destinations (the linked cloud, the public APIs its agents name) change with the link.
    let linkOrigins: () => string[] = () => [];
    const egress = createEgress({
      allowedOrigins: () => [
        ...originsFromProviders(config.cached().models.providers),
        ...linkOrigins(),
        ...(options.extraEgressOrigins?.() ?? []),
      ],
      log,
    });
    const workspaceAgents = new WorkspaceAgents();
    const link = new LinkService({
      identity: identityPaths(paths.stateDir),
      workspaceAgents,
      openSocket: (url, socketOptions) => egress.websocket(url, socketOptions),
      log,
      ...(options.linkTimers ? { timers: options.linkTimers } : {}),
      ...(options.linkPollMs ? { pollMs: options.linkPollMs } : {}),
    });
    linkOrigins = () => link.egressOrigins();
    // Transcript sync: sends nothing until the link is online (docs/data-residency.md).
    const sync = new SyncService({
      store,
      link,
      workspaceAgents: { has: (agentId) => workspaceAgents.get(agentId) !== undefined },
      optedInAgents: async () => (await config.current()).sync?.agents ?? [],
      dir: join(paths.storeDir, 'sync'),
      log: { info: (message) => log.info(message), warn: (message) => log.warn(message) },
    });
    sync.start();
    const storeLog = { warn: (message: string) => log.warn(message) };
    const recordings = await RecordingStore.open(join(paths.storeDir, 'recordings'), storeLog);
    const extension = new ExtensionAccess({
      pairings: await ExtensionPairings.open(paths.storeDir, storeLog),
      config,
      log,
    });
    const runs = new RunService({
      // Recordings attached to an agent are part of its system prompt (skill-format.ts).
      skillsFor: async (agentId) => renderSkills(await recordings.attachedTo(agentId)),
      config,
      store,
      idempotency: await IdempotencyLog.open(join(paths.storeDir, 'idempotency.log')),
      egress,
      streamCompletion: options.streamCompletion ?? defaultStreamCompletion,
      workspaceAgents,
      log,
    });
    const server = buildServer(
      {
        config,
        store,
        runs,
        limiter: options.limiter ?? new AuthFailureLimiter(),
        log,
        version: GATEWAY_VERSION,
        startedAt: Date.now(),
        workspaceAgents,
        link,
        sync,
        recordings,
        extension,
      },
      {
        bind: gateway.bind,
        port: options.port ?? gateway.port,
        tickIntervalMs: options.tickIntervalMs,
        connectionLimits: { ...gateway.connections, ...options.connectionLimits },
      },
    );
    return {
      config,
      store,
      runs,
      egress,
      link,
      sync,
      recordings,
      extension,
      server,
      close: async () => {
        await link.close();
        await sync.stop();
        await runs.drain();
        await server.close();
        await recordings.close();
        await store.close();
      },
    };
  } catch (error) {
    await store.close();
    throw error;
  }
}

/** Builds the gateway and serves it on its bind address(es). */
export async function startGateway(options: StartGatewayOptions): Promise<RunningGateway> {
  const built = await buildGateway(options);
  const listening = await listen(built.server).catch(async (error: unknown) => {
    await built.close();
    throw error;
  });
  const { config, store, runs, egress, link, sync, recordings, extension } = built;
  await link.start();
  return {
    ...listening,
    config,
    store,
    runs,
    egress,
    link,
    sync,
    recordings,
    extension,
    routes: built.server.routes,
    // Each run's reply is stored whole before serving stops; the store closes last.
    close: async () => {
      await link.close();
      await sync.stop();
      await runs.drain();
      await listening.close();
      await recordings.close();
      await store.close();
    },
  };
}

/** The config file (created with a fresh token on first start), its permissions checked, a non-loopback bind warned about. */
async function openConfig(paths: GatewayPaths, log: Logger, strict: boolean): Promise<ConfigFile> {
  const config = await ConfigFile.open(paths, {
    strict,
    warn: (message) => log.warn(message),
    onCreated: (path) => log.info({ path }, 'created a new gateway config with a fresh gateway token'),
    onReloadError: (error) =>
      log.error({ problems: error.message }, 'ignoring an invalid edit of the config'),
  });
  await enforcePrivatePermissions(paths, { strict, warn: (message) => log.warn(message) });
  const { bind } = config.cached().gateway;
  if (bind !== 'loopback') {
    log.warn({ bind }, 'the gateway is listening on a non-loopback address (gateway.allowNonLoopback)');
  }
  return config;
}
