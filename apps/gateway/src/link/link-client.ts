import type { KeyObject } from 'node:crypto';
import {
  CloudToGateway,
  type ConfigAgents,
  ErrorEnvelope,
  encodeWsMessage,
  GatewayToCloud,
  LINK_CLOSE,
  LINK_HEARTBEAT_MS,
  LINK_MAX_VIOLATIONS,
  LINK_PROTOCOL_VERSIONS,
  LINK_REAUTH_MARGIN_SECONDS,
  LINK_VERSIONS_HEADER,
  linkAudience,
  parseWsMessage,
} from '@multiclaw/protocol';
import type { ClientOptions, WebSocket } from 'ws';
import { signLinkAssertion } from './assertion.js';
import { reconnectDelayMs } from './backoff.js';
import { LinkUnavailableError } from './cloud-link.js';
import type { LinkTimers } from './link-timers.js';
import { PendingRequests, type ReplyOf, type RequestPayload, type RequestType } from './pending-requests.js';

export interface LinkIdentity {
  cloudUrl: string;
  gatewayId: string;
  workspaceId: string;
  privateKey: KeyObject;
}

/** The states one client goes through; 'not linked' belongs to the service around it. */
export type ClientState = 'connecting' | 'online' | 'offline' | 'revoked' | 'stopped';

export interface LinkClientEvents {
  state(state: ClientState, reason: string | undefined): void;
  agents(config: ConfigAgents): void;
}

type Outgoing = keyof typeof GatewayToCloud & string;

const HANDSHAKE_TIMEOUT_MS = 15_000;

/**
 * One gateway's connection to the cloud, kept up until stopped or revoked:
 * a fresh assertion per connection and per re-auth, heartbeats both ways,
 * reconnects with full-jitter back-off, requests matched to replies by id.
 * Every frame in is parsed against the catalog; every frame out is encoded
 * through it.
 */
export class LinkClient {
  private socket: WebSocket | undefined;
  private state: ClientState = 'stopped';
  private attempt = 0;
  private started = false;
  private violations = 0;
  private lastHeard = 0;
  private heartbeatMs = LINK_HEARTBEAT_MS;
  private readonly timers = new Set<unknown>();
  private readonly pending: PendingRequests;

  constructor(
    private readonly identity: LinkIdentity,
    private readonly deps: {
      /** Opens the socket; egress.websocket in the gateway. */
      openSocket(url: string, options: ClientOptions): WebSocket;
      timers: LinkTimers;
      events: LinkClientEvents;
      log: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
    },
  ) {
    this.pending = new PendingRequests(deps.timers);
  }

  get current(): ClientState {
    return this.state;
  }

  start(): void {
    if (this.state !== 'stopped' || this.started) return;
    this.started = true;
    void this.connect();
  }

  /** Closes the socket for good (unlink, shutdown); pending requests fail. */
  stop(): void {
    this.setState('stopped', undefined);
    this.teardown(1000, 'gateway stopping the link');
  }

  /** Sends a request and resolves with the cloud's reply (or rejects with its `link.error`). */
  request<T extends RequestType>(type: T, payload: RequestPayload<T>): Promise<ReplyOf<T>> {
    if (this.state !== 'online' || !this.socket) {
      return Promise.reject(
        new LinkUnavailableError(`the cloud link is ${this.state === 'stopped' ? 'not linked' : this.state}`),
      );
    }
    return this.pending.open(type, (id) => this.send(type, payload, id));
  }

  /** The first attempt is 'connecting'; later ones stay 'offline' until the cloud says ready. */
  private async connect(): Promise<void> {
    if (this.state === 'stopped') this.setState('connecting', undefined);
    let assertion: string;
    try {
      ({ assertion } = await signLinkAssertion({ ...this.identity, now: this.deps.timers.now() }));
    } catch (error) {
      this.retry(`could not sign the link assertion: ${(error as Error).message}`);
      return;
    }
    if (this.state === 'stopped' || this.state === 'revoked') return;
    const url = linkAudience(this.identity.cloudUrl);
    let socket: WebSocket;
    try {
      socket = this.deps.openSocket(url, {
        headers: {
          authorization: `Bearer ${assertion}`,
          [LINK_VERSIONS_HEADER]: LINK_PROTOCOL_VERSIONS.join(','),
        },
        handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
      });
    } catch (error) {
      // Egress refused the destination: nothing will change without a new link state.
      this.retry((error as Error).message);
      return;
    }
    this.socket = socket;
    this.violations = 0;
    this.lastHeard = this.deps.timers.now().getTime();
    socket.on('message', (data) => this.onFrame(socket, data.toString()));
    socket.on('unexpected-response', (_request, response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () => this.onRefused(socket, response.statusCode ?? 0, body));
    });
    socket.on('error', (error) => {
      if (socket === this.socket) this.retry(`could not reach the cloud: ${describeError(error)}`);
    });
    socket.on('close', (code, reason) => this.onClose(socket, code, reason.toString()));
  }

  private onRefused(socket: WebSocket, status: number, body: string): void {
    if (socket !== this.socket) return;
    const envelope = ErrorEnvelope.safeParse(safeJson(body));
    const code = envelope.success ? envelope.data.error.code : undefined;
    const message = envelope.success ? envelope.data.error.message : `HTTP ${status}`;
    // Only the cloud's own word ends the link for good: a proxy's bare 403 is retried like any refusal.
    if (code === 'LINK_GATEWAY_REVOKED') {
      this.revoked(message);
      return;
    }
    this.retry(`the cloud refused the link (${code ?? `HTTP ${status}`}: ${message})`);
  }

  private onClose(socket: WebSocket, code: number, reason: string): void {
    if (socket !== this.socket) return;
    if (code === LINK_CLOSE.REVOKED) {
      this.revoked(reason || 'the cloud revoked this gateway');
      return;
    }
    const why =
      code === LINK_CLOSE.AUTH_EXPIRED
        ? 'the cloud ended the session (its authentication expired)'
        : code === LINK_CLOSE.REPLACED
          ? 'another connection with this gateway identity replaced this one (is a second gateway running with the same state directory?)'
          : `the connection closed (${code}${reason ? ` ${reason}` : ''})`;
    this.retry(why);
  }

  private onFrame(socket: WebSocket, raw: string): void {
    if (socket !== this.socket) return;
    this.lastHeard = this.deps.timers.now().getTime();
    let message: ReturnType<typeof parseWsMessage<typeof CloudToGateway>>;
    try {
      message = parseWsMessage(CloudToGateway, raw);
    } catch (error) {
      this.violations += 1;
      this.deps.log.warn(
        { link: { violation: (error as Error).message } },
        'cloud link: ignored a frame that is not in the catalog',
      );
      if (this.violations >= LINK_MAX_VIOLATIONS)
        this.teardownAndRetry(LINK_CLOSE.VIOLATIONS, 'too many malformed frames from the cloud');
      return;
    }
    if (this.pending.settle(message)) return;
    switch (message.type) {
      case 'link.ready':
        this.heartbeatMs = message.payload.heartbeatMs;
        this.attempt = 0;
        this.setState('online', undefined);
        this.scheduleHeartbeat(socket);
        this.scheduleReauth(socket, new Date(message.payload.authExpiresAt));
        return;
      case 'config.agents':
        this.deps.events.agents(message.payload);
        return;
      case 'link.error':
        if (message.payload.code === 'LINK_GATEWAY_REVOKED') {
          this.revoked(message.payload.message);
          return;
        }
        this.deps.log.warn(
          { link: { code: message.payload.code } },
          `cloud link: the cloud reported ${message.payload.code}: ${message.payload.message}`,
        );
        return;
      default:
        // Heartbeats only refresh lastHeard; a stray reply to a request that timed out is dropped.
        return;
    }
  }

  /** Sends ours every interval; no frame from the cloud for 3 intervals means a dead peer. */
  private scheduleHeartbeat(socket: WebSocket): void {
    this.after(this.heartbeatMs, () => {
      if (socket !== this.socket || this.state !== 'online') return;
      const silentMs = this.deps.timers.now().getTime() - this.lastHeard;
      if (silentMs >= 3 * this.heartbeatMs) {
        this.teardownAndRetry(4000, `the cloud went silent for ${Math.round(silentMs / 1000)} s`);
        return;
      }
      this.send('link.heartbeat', { sentAt: this.deps.timers.now().toISOString() });
      this.scheduleHeartbeat(socket);
    });
  }

  /** A fresh assertion LINK_REAUTH_MARGIN_SECONDS before the current one expires, then again before the next. */
  private scheduleReauth(socket: WebSocket, expiresAt: Date): void {
    const inMs = Math.max(
      0,
      expiresAt.getTime() - LINK_REAUTH_MARGIN_SECONDS * 1000 - this.deps.timers.now().getTime(),
    );
    this.after(inMs, async () => {
      if (socket !== this.socket || this.state !== 'online') return;
      try {
        const { assertion } = await signLinkAssertion({ ...this.identity, now: this.deps.timers.now() });
        const ok = await this.request('auth.refresh', { assertion });
        this.scheduleReauth(socket, new Date(ok.expiresAt));
      } catch (error) {
        if (socket !== this.socket) return;
        // The cloud closes a session whose re-auth failed (4401); reconnecting starts a fresh one.
        this.teardownAndRetry(4000, `re-authentication failed: ${(error as Error).message}`);
      }
    });
  }

  private send(type: Outgoing, payload: unknown, id?: string): void {
    this.socket?.send(encodeWsMessage(GatewayToCloud, type, payload as never, id));
  }

  private revoked(reason: string): void {
    this.setState('revoked', reason);
    this.teardown(1000, 'revoked');
  }

  private teardownAndRetry(code: number, reason: string): void {
    this.teardown(code, reason);
    this.retry(reason);
  }

  /** Drops the socket (and every timer and pending request that belonged to it). */
  private teardown(code: number, reason: string): void {
    const socket = this.socket;
    this.socket = undefined;
    for (const handle of this.timers) this.deps.timers.clearTimeout(handle);
    this.timers.clear();
    this.pending.failAll(reason);
    if (socket) {
      socket.removeAllListeners('message');
      socket.on('error', () => undefined);
      if (socket.readyState === socket.OPEN)
        socket.close(code < 4000 || code === 4000 ? 1000 : code, reason.slice(0, 120));
      else socket.terminate();
    }
  }

  /** Offline, then a new connection after the back-off (unless stopped or revoked meanwhile). */
  private retry(reason: string): void {
    if (this.state === 'stopped' || this.state === 'revoked') return;
    this.teardown(1000, reason);
    const delay = reconnectDelayMs(this.attempt++, this.deps.timers.random);
    this.setState('offline', `${reason}; reconnecting in ${(delay / 1000).toFixed(1)} s`);
    this.after(delay, () => {
      if (this.state === 'offline') void this.connect();
    });
  }

  private after(ms: number, callback: () => void | Promise<void>): unknown {
    const handle = this.deps.timers.setTimeout(() => {
      this.timers.delete(handle);
      void callback();
    }, ms);
    this.timers.add(handle);
    return handle;
  }

  /** Reports every state, and a new reason in the same state (the service logs only changes of state). */
  private setState(state: ClientState, reason: string | undefined): void {
    this.state = state;
    this.deps.events.state(state, reason);
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function describeError(error: Error): string {
  const code = (error as NodeJS.ErrnoException).code;
  return code ? `${code} ${error.message}` : error.message;
}
