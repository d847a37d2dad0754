import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ConfigFile,
  type GatewayConfig,
  type RunningGateway,
  resolveGatewayPaths,
  startGateway,
} from '@multiclaw/gateway';
import {
  DESKTOP_SECRET_HEADER,
  type DesktopEvent,
  DesktopEventsToUi,
  WS_PROTOCOL_VERSION,
} from '@multiclaw/protocol';
import { createLogger } from '@multiclaw/runtime/logger';
import WebSocket from 'ws';
import { parseDesktopEnv } from '../../src/config.js';
import { type RunningDesktop, type StartDesktopOptions, startDesktop } from '../../src/desktop.js';

export const SHIPPED_CAPABILITIES = fileURLToPath(new URL('../../capabilities', import.meta.url));

/** JSON log lines written through the product's own logger (redaction and all). */
export function captureLog(service: string) {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const log = createLogger({
    service,
    level: 'debug',
    destination: {
      write: (line: string) => {
        raw.push(line);
        lines.push(JSON.parse(line) as Record<string, unknown>);
      },
    },
  });
  return { log, lines, raw };
}

export interface TestDesktop {
  desktop: RunningDesktop;
  /** The gateway's state directory (openclaw.json and its store). */
  openclawDir: string;
  config: ConfigFile;
  gateway?: RunningGateway;
  logs: ReturnType<typeof captureLog>;
  gatewayLogs?: ReturnType<typeof captureLog>;
  /** POST /ipc/<command> as the window `window` (main unless named), or with the headers given. */
  call(
    command: string,
    input?: unknown,
    options?: { window?: string; headers?: Record<string, string> },
  ): Promise<{ status: number; body: Record<string, unknown> }>;
  close(): Promise<void>;
}

/**
 * A desktop host on a free loopback port with its own state directory and
 * openclaw.json, and (unless `gateway: false`) a real gateway started in
 * this process on another free port, its port written into openclaw.json as
 * `multiclaw-gateway start` would have it.
 */
export async function startTestDesktop(
  options: {
    gateway?: boolean;
    configure?: (config: GatewayConfig) => GatewayConfig;
    capabilitiesDir?: string;
    env?: Record<string, string>;
    /** A built UI to serve (default: none, so the "not built" page). */
    uiDir?: string;
    /** How single sign-on opens the system browser, the cloud session's clock. */
    desktop?: Pick<StartDesktopOptions, 'openBrowser' | 'cloudClock'>;
  } = {},
): Promise<TestDesktop> {
  const root = await mkdtemp(join(tmpdir(), 'mc-desktop-test-'));
  const openclawDir = join(root, 'openclaw');
  const processEnv = {
    HOME: root,
    PATH: process.env.PATH ?? '',
    OPENCLAW_STATE_DIR: openclawDir,
    MULTICLAW_DESKTOP_STATE_DIR: join(root, 'desktop'),
    ...options.env,
  };
  const gatewayPaths = resolveGatewayPaths(processEnv);
  const config = await ConfigFile.open(gatewayPaths);
  if (options.configure) await config.update(options.configure);
  let gateway: RunningGateway | undefined;
  let gatewayLogs: ReturnType<typeof captureLog> | undefined;
  if (options.gateway !== false) {
    gatewayLogs = captureLog('multiclaw-gateway');
    gateway = await startGateway({ paths: gatewayPaths, log: gatewayLogs.log, port: 0 });
    const port = gateway.port;
    await config.update((current) => ({ ...current, gateway: { ...current.gateway, port } }));
  }
  const logs = captureLog('multiclaw-desktop');
  const desktop = await startDesktop({
    env: parseDesktopEnv(processEnv),
    processEnv,
    log: logs.log,
    capabilitiesDir: options.capabilitiesDir ?? SHIPPED_CAPABILITIES,
    port: 0,
    uiDir: options.uiDir ?? join(root, 'no-ui'),
    gatewayPollMs: 200,
    ...options.desktop,
  });
  return {
    desktop,
    openclawDir,
    config,
    ...(gateway ? { gateway } : {}),
    ...(gatewayLogs ? { gatewayLogs } : {}),
    logs,
    async call(command, input = {}, callOptions = {}) {
      const headers = callOptions.headers ?? {
        [DESKTOP_SECRET_HEADER]: desktop.secretOf(callOptions.window ?? 'main'),
      };
      const response = await fetch(`${desktop.url}/ipc/${command}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(input),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    },
    async close() {
      await desktop.close();
      await gateway?.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** An authenticated event stream: every frame the host sends, and a way to wait for one. */
export async function openEvents(desktop: RunningDesktop, window = 'main') {
  const ws = new WebSocket(`${desktop.url.replace('http', 'ws')}/ipc/events`);
  const events: DesktopEvent[] = [];
  const waiters: Array<{ test: (event: DesktopEvent) => boolean; resolve: (event: DesktopEvent) => void }> =
    [];
  ws.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as { type: keyof typeof DesktopEventsToUi; payload: unknown };
    const event = {
      type: frame.type,
      payload: DesktopEventsToUi[frame.type].parse(frame.payload),
    } as DesktopEvent;
    events.push(event);
    for (const waiter of waiters.splice(0)) {
      if (waiter.test(event)) waiter.resolve(event);
      else waiters.push(waiter);
    }
  });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  ws.send(
    JSON.stringify({
      v: WS_PROTOCOL_VERSION,
      type: 'auth.secret',
      payload: { secret: desktop.secretOf(window) },
    }),
  );
  const next = <T extends DesktopEvent['type']>(
    type: T,
    test: (event: Extract<DesktopEvent, { type: T }>) => boolean = () => true,
  ) =>
    new Promise<Extract<DesktopEvent, { type: T }>>((resolve) => {
      const match = (event: DesktopEvent) =>
        event.type === type && test(event as Extract<DesktopEvent, { type: T }>);
      const seen = events.find(match);
      if (seen) return resolve(seen as Extract<DesktopEvent, { type: T }>);
      waiters.push({ test: match, resolve: resolve as (event: DesktopEvent) => void });
    });
  await next('events.ready');
  return { ws, events, next, close: () => ws.close() };
}
