import {
  type DesktopEvent,
  encodeWsMessage,
  parseWsMessage,
  REALTIME_CLOSE,
  REALTIME_PATH,
  RealtimeClientMessages,
  RealtimeServerMessages,
} from '@multiclaw/protocol';
import type { Logger } from 'pino';
import WebSocket from 'ws';
import type { CloudSession } from './cloud-session.js';

/** Send a fresh token this long before the current one expires. */
const REAUTH_MARGIN_MS = 60_000;
const BACKOFF_MIN_MS = 1_000;
const BACKOFF_MAX_MS = 60_000;

export interface RealtimeLinkDeps {
  session: CloudSession;
  publish: (event: DesktopEvent) => void;
  log: Logger;
  random?: () => number;
  /** The host's clock (the session's). */
  now?: () => number;
}

/**
 * The host's `/v1/realtime` socket while signed in: it authenticates with
 * the first frame, sends a fresh token before the current one expires,
 * reconnects with jittered exponential backoff, and forwards every event to
 * the UI's event stream as `cloud.event`. It stops when the session ends.
 */
export class RealtimeLink {
  private socket: WebSocket | undefined;
  private running = false;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private reauthTimer: NodeJS.Timeout | undefined;
  private readonly random: () => number;
  private readonly now: () => number;
  /** Sockets opened and fresh tokens sent on an open one (tests, status). */
  readonly stats = { connects: 0, reauths: 0 };

  constructor(private readonly deps: RealtimeLinkDeps) {
    this.random = deps.random ?? Math.random;
    this.now = deps.now ?? Date.now;
    deps.session.onChange((signedIn) => (signedIn ? this.start() : this.stop()));
  }

  /** Whether the socket is open and authenticated (tests, status). */
  ready = false;

  start(): void {
    if (this.running) return;
    this.running = true;
    this.attempt = 0;
    void this.connect();
  }

  stop(): void {
    this.running = false;
    this.ready = false;
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.reauthTimer);
    this.socket?.close(1000);
    this.socket = undefined;
  }

  private async connect(): Promise<void> {
    if (!this.running) return;
    let token: string;
    let base: string;
    try {
      base = await this.deps.session.sessionBase();
      token = await this.deps.session.accessToken();
    } catch (error) {
      // Signed out (the session ended) or the cloud unreachable: the first stops us, the second retries.
      this.deps.log.debug({ err: error }, 'the real-time link could not authenticate');
      if (await this.deps.session.signedIn()) this.retry();
      else this.stop();
      return;
    }
    if (!this.running) return;
    const socket = new WebSocket(`${base.replace(/^http/, 'ws')}${REALTIME_PATH}`, {
      maxPayload: 1024 * 1024,
      followRedirects: false,
    });
    this.socket = socket;
    this.stats.connects += 1;
    socket.on('open', () =>
      socket.send(encodeWsMessage(RealtimeClientMessages, 'auth.token', { accessToken: token })),
    );
    socket.on('message', (data) => this.onFrame(socket, data.toString()));
    socket.on('error', (error) => this.deps.log.debug({ err: error }, 'real-time socket error'));
    socket.on('close', (code) => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.ready = false;
      clearTimeout(this.reauthTimer);
      if (code === REALTIME_CLOSE.SESSION_ENDED) {
        // The cloud ended the session (sign-out elsewhere, revocation): a refresh says so for sure.
        this.deps.session.refresh().then(
          () => this.retry(),
          () => this.stop(),
        );
        return;
      }
      this.retry();
    });
  }

  private onFrame(socket: WebSocket, raw: string): void {
    let message: ReturnType<typeof parseWsMessage<typeof RealtimeServerMessages>>;
    try {
      message = parseWsMessage(RealtimeServerMessages, raw);
    } catch (error) {
      this.deps.log.warn({ err: error }, 'the cloud sent a real-time frame the host does not know');
      return;
    }
    switch (message.type) {
      case 'auth.ok': {
        this.ready = true;
        this.attempt = 0;
        this.scheduleReauth(socket, Date.parse(message.payload.expiresAt));
        return;
      }
      case 'realtime.event':
        this.deps.publish({ type: 'cloud.event', payload: { event: message.payload } });
        return;
      case 'realtime.error':
        this.deps.log.warn(
          { code: message.payload.code },
          `the cloud's real-time socket: ${message.payload.message}`,
        );
        return;
    }
  }

  private scheduleReauth(socket: WebSocket, expiresAt: number): void {
    clearTimeout(this.reauthTimer);
    // The host's own reckoning of the token it sent (immune to a skew between the clocks),
    // else the cloud's; a minute early, or halfway through when less is left (short-lived tokens).
    const remaining = (this.deps.session.accessExpiresAt() ?? expiresAt) - this.now();
    const delay = Math.max(1_000, remaining - Math.min(REAUTH_MARGIN_MS, remaining / 2));
    this.reauthTimer = setTimeout(() => {
      this.deps.session
        .signedIn()
        .then((signedIn) => {
          // Signed out, another cloud chosen, or local-only switched on: contact nothing more.
          if (!signedIn) throw new Error('no longer signed in to this cloud');
          return this.deps.session.refresh();
        })
        .then(({ token }) => {
          if (this.socket !== socket || socket.readyState !== WebSocket.OPEN) return;
          socket.send(encodeWsMessage(RealtimeClientMessages, 'auth.token', { accessToken: token }));
          this.stats.reauths += 1;
        })
        .catch((error: unknown) => {
          this.deps.log.debug({ err: error }, 'the real-time re-auth failed');
          void this.deps.session.signedIn().then((signedIn) => signedIn || this.stop());
        });
    }, delay);
    this.reauthTimer.unref();
  }

  private retry(): void {
    if (!this.running) return;
    this.attempt += 1;
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** (this.attempt - 1));
    const delay = ceiling / 2 + this.random() * (ceiling / 2);
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => void this.connect(), delay);
    this.reconnectTimer.unref();
  }
}
