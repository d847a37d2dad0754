import type { AddressInfo } from 'node:net';
import { ConfigFile, type GatewayPaths, resolveGatewayPaths } from '@multiclaw/gateway/client';
import { DESKTOP_COMMANDS } from '@multiclaw/protocol';
import { ensurePrivateDir } from '@multiclaw/runtime/atomic-write';
import type { Logger } from 'pino';
import { loadCapabilityFiles } from './capabilities/capability-file.js';
import { CapabilityPolicy } from './capabilities/policy.js';
import { CloudSession } from './cloud/cloud-session.js';
import { RealtimeLink } from './cloud/realtime-link.js';
import { type BrowserOpener, SsoFlow, systemBrowserOpener } from './cloud/sso.js';
import { commandHandlers } from './commands/index.js';
import { type DesktopEnv, type DesktopPaths, resolveDesktopPaths, UI_DIST_DIR } from './config.js';
import { GatewayConnection } from './gateway/gateway-connection.js';
import { buildHost } from './host.js';
import { EventHub } from './ipc/event-hub.js';
import { createRegistry } from './ipc/registry.js';
import { WindowSecrets } from './ipc/window-secrets.js';
import { CloudSessionFile } from './state/cloud-session-file.js';
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
  /** How single sign-on opens the system browser (tests drive Chromium instead). */
  openBrowser?: BrowserOpener;
  /** The cloud session's clock (tests move it past the access token's expiry). */
  cloudClock?: () => number;
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
  /** The cloud session and its real-time socket (tests look at them; the UI never sees a token). */
  cloud: { session: CloudSession; realtime: RealtimeLink };
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
  // The cloud session: its refresh token in the state directory, the real-time socket following it.
  const settings = new SettingsStore(paths.settingsPath, (message) => log.warn(message));
  const session = new CloudSession({
    settings,
    file: new CloudSessionFile(paths.cloudSessionPath, (message) => log.warn(message)),
    publish: (event) => hub.publish(event),
    log,
    ...(options.cloudClock ? { now: options.cloudClock } : {}),
  });
  const realtime = new RealtimeLink({
    session,
    publish: (event) => hub.publish(event),
    log,
    ...(options.cloudClock ? { now: options.cloudClock } : {}),
  });
  const sso = new SsoFlow({
    session,
    open: options.openBrowser ?? systemBrowserOpener(options.processEnv),
    publish: (event) => hub.publish(event),
    log,
  });
  const registry = createRegistry(
    commandHandlers({
      gateway,
      config,
      env: options.processEnv,
      logDir: paths.logDir,
      settings,
      gatewayPaths,
      crashDir: paths.crashDir,
      cloud: { session, sso, env: options.processEnv, logDir: paths.logDir, exportDir: paths.exportDir },
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
  if (await session.signedIn().catch(() => false)) realtime.start();
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
    cloud: { session, realtime },
    close: async () => {
      sso.close();
      realtime.stop();
      gateway.close();
      await host.close();
    },
  };
}
