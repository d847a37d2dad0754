import {
  type ConfigFile,
  fetchGatewayStatus,
  GatewayClient,
  type GatewayConfig,
  localEgress,
  localGatewayOrigin,
} from '@multiclaw/gateway/client';
import { type DesktopEvent, type DesktopGatewayStatus, GatewayStatus } from '@multiclaw/protocol';
import type { Logger } from 'pino';
import { chatEventOf } from './chat-events.js';
import { fromGatewayError } from './gateway-errors.js';

export interface GatewayConnectionOptions {
  /** openclaw.json, as the gateway resolves it: its token and port. */
  config: ConfigFile;
  publish: (event: DesktopEvent) => void;
  log: Logger;
  /** How often to look for the gateway while none is connected. */
  pollMs?: number;
}

/**
 * The host's one connection to the local gateway's control protocol, with the
 * token from openclaw.json and every operator scope (the host is the
 * person's own client). Reconnects when the gateway comes (back) up, and
 * publishes `gateway.up` / `gateway.down` and the runs' chat events.
 */
export class GatewayConnection {
  private client: GatewayClient | undefined;
  private connecting: Promise<GatewayClient | undefined> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private startingSince: number | undefined;
  private closed = false;

  constructor(private readonly options: GatewayConnectionOptions) {}

  /** Begins watching for the gateway. */
  watch(): void {
    const poll = () => {
      if (!this.client && !this.closed) void this.connect();
    };
    poll();
    this.timer = setInterval(poll, this.options.pollMs ?? 2_000);
    this.timer.unref();
  }

  /** Set by `gateway.start` until the spawned gateway answers (or `giveUp`). */
  markStarting(): void {
    this.startingSince = Date.now();
  }

  clearStarting(): void {
    this.startingSince = undefined;
  }

  isConnected(): boolean {
    return this.client !== undefined;
  }

  async status(): Promise<DesktopGatewayStatus> {
    const config = await this.options.config.current();
    const client = this.client ?? (await this.connect());
    if (client) {
      try {
        return runningStatus(config, GatewayStatus.parse(await client.call('status')));
      } catch (error) {
        this.options.log.warn({ err: error }, 'the gateway did not answer status');
      }
    }
    return this.absentStatus(config);
  }

  /** Calls a control-protocol method; refusals become our errors, no gateway DESKTOP_GATEWAY_UNAVAILABLE. */
  async call(method: string, params?: unknown): Promise<unknown> {
    const client = this.client ?? (await this.connect());
    if (!client) throw fromGatewayError(undefined);
    try {
      return await client.call(method, params);
    } catch (error) {
      throw fromGatewayError(error);
    }
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    this.client?.close();
    this.client = undefined;
  }

  private connect(): Promise<GatewayClient | undefined> {
    this.connecting ??= this.open().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async open(): Promise<GatewayClient | undefined> {
    const config = await this.options.config.current();
    const origin = localGatewayOrigin(config);
    try {
      const client = await GatewayClient.connect(localEgress([origin]), `${origin.replace(/^http/, 'ws')}/`, {
        token: config.gateway.auth.token,
        scopes: ['operator.admin'],
        client: { id: 'gateway-client', mode: 'backend', displayName: 'MultiClaw desktop' },
        timeoutMs: 3_000,
        onEvent: (event, payload) => {
          const desktopEvent = chatEventOf(event, payload);
          if (desktopEvent) this.options.publish(desktopEvent);
        },
        onClose: () => this.onClosed(client),
      });
      if (this.closed) {
        client.close();
        return undefined;
      }
      this.client = client;
      this.clearStarting();
      this.options.log.info({ gateway: origin }, 'connected to the gateway');
      this.options.publish({ type: 'gateway.up', payload: { gateway: await this.status() } });
      return client;
    } catch (error) {
      this.options.log.debug({ err: error, gateway: origin }, 'no gateway to connect to');
      return undefined;
    }
  }

  private onClosed(client: GatewayClient): void {
    if (this.client !== client) return;
    this.client = undefined;
    if (this.closed) return;
    this.options.log.warn('the gateway connection closed');
    void this.options.config
      .current()
      .then(async (config) =>
        this.options.publish({ type: 'gateway.down', payload: { gateway: await this.absentStatus(config) } }),
      );
  }

  private async absentStatus(config: GatewayConfig): Promise<DesktopGatewayStatus> {
    const url = localGatewayOrigin(config);
    const port = config.gateway.port;
    if (this.startingSince !== undefined)
      return { state: 'starting', url, port, reason: 'the gateway is starting' };
    const probe = await fetchGatewayStatus(config, 2_000);
    if (probe.state === 'running') return { state: 'running', url, port };
    return { state: probe.state === 'not running' ? 'stopped' : 'refusing', url, port, reason: probe.reason };
  }
}

function runningStatus(config: GatewayConfig, status: GatewayStatus): DesktopGatewayStatus {
  return {
    state: 'running',
    url: localGatewayOrigin(config),
    port: config.gateway.port,
    version: status.version,
    pid: status.pid,
    uptimeMs: status.uptimeMs,
    agents: status.agents,
    providers: status.providers,
    sessions: status.sessions,
    ...(status.link ? { link: status.link } : {}),
  };
}
