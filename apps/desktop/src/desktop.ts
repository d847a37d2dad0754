import type { AddressInfo } from 'node:net';
import { ConfigFile, type GatewayPaths, resolveGatewayPaths } from '@multiclaw/gateway/client';
import { DESKTOP_COMMANDS } from '@multiclaw/protocol';
import { ensurePrivateDir } from '@multiclaw/runtime/atomic-write';
import type { Logger } from 'pino';
import { loadCapabilityFiles } from './capabilities/capability-file.js';
import { CapabilityPolicy } from './capabilities/policy.js';
import { commandHandlers } from './commands/index.js';
import { type DesktopEnv, type DesktopPaths, resolveDesktopPaths, UI_DIST_DIR } from './config.js';
import { GatewayConnection } from './gateway/gateway-connection.js';
import { buildHost } from './host.js';
import { EventHub } from './ipc/event-hub.js';
import { createRegistry } from './ipc/registry.js';
import { WindowSecrets } from './ipc/window-secrets.js';
import { SettingsStore } from './state/settings-store.js';

export interface StartDesktopOptions {
  env: DesktopEnv;
  /** The whole environment: the gateway it may start inherits it (OPENCLAW_STATE_DIR…). */
  processEnv: NodeJS.ProcessEnv;
  log: Logger;
  capabilitiesDir: string;
  /** Default: MULTICLAW_DESKTOP_PORT. 0 picks a free one (tests). */
  port?: number;
  uiDir?: string;
  gatewayPollMs?: number;
  eventsAuthTimeoutMs?: number;
}

export interface RunningDesktop {
  port: number;
  /** `http://127.0.0.1:<port>` */
  url: string;
  paths: DesktopPaths;
  gatewayPaths: GatewayPaths;
  policy: CapabilityPolicy;
  ui: 'built' | 'missing';
  /** A window's URL with its secret in the fragment: what `start` opens or prints. */
  windowUrl(window: string): string;
  secretOf(window: string): string;
  close(): Promise<void>;
}

/**
 * The composition root, top to bottom: capability files (refused before
 * anything else), the state directory, openclaw.json (the gateway's), the
 * connection to the gateway, the command registry, the host, listening on
 * 127.0.0.1 only.
 */
export async function startDesktop(options: StartDesktopOptions): Promise<RunningDesktop> {
  const { env, log } = options;
  const policy = CapabilityPolicy.from(
    await loadCapabilityFiles(options.capabilitiesDir, DESKTOP_COMMANDS),
    DESKTOP_COMMANDS,
  );
  const paths = resolveDesktopPaths(env);
  await ensurePrivateDir(paths.stateDir);
  const gatewayPaths = resolveGatewayPaths(options.processEnv);
  const config = await ConfigFile.open(gatewayPaths, {
    warn: (message) => log.warn(message),
    onReloadError: (error) =>
      log.warn({ problems: error.message }, 'openclaw.json has an invalid edit; using the last valid one'),
  });

  const hub = new EventHub();
  const gateway = new GatewayConnection({
    config,
    publish: (event) => hub.publish(event),
    log,
    ...(options.gatewayPollMs ? { pollMs: options.gatewayPollMs } : {}),
  });
  const registry = createRegistry(
    commandHandlers({
      gateway,
      config,
      env: options.processEnv,
      logDir: paths.logDir,
      settings: new SettingsStore(paths.settingsPath, (message) => log.warn(message)),
      gatewayPaths,
      crashDir: paths.crashDir,
    }),
  );
  const secrets = new WindowSecrets(policy.windows());
  const address = { port: options.port ?? env.MULTICLAW_DESKTOP_PORT };
  const host = await buildHost({
    log,
    address,
    secrets,
    policy,
    registry,
    events: {
      hub,
      gatewayStatus: () => gateway.status(),
      ...(options.eventsAuthTimeoutMs ? { authTimeoutMs: options.eventsAuthTimeoutMs } : {}),
    },
    uiDir: options.uiDir ?? UI_DIST_DIR,
  });
  await host.app.listen({ host: '127.0.0.1', port: address.port });
  address.port = (host.app.server.address() as AddressInfo).port;
  gateway.watch();
  const url = `http://127.0.0.1:${address.port}`;
  log.info({ url, ui: host.ui, windows: policy.windows() }, 'desktop host listening');

  return {
    port: address.port,
    url,
    paths,
    gatewayPaths,
    policy,
    ui: host.ui,
    windowUrl: (window) => `${url}/#secret=${secrets.secretOf(window)}`,
    secretOf: (window) => secrets.secretOf(window),
    close: async () => {
      gateway.close();
      await host.close();
    },
  };
}
