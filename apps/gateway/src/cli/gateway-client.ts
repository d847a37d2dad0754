import { randomUUID } from 'node:crypto';
import { GATEWAY_PROTOCOL_VERSION, type HelloOk, type ProtocolError } from '@multiclaw/protocol';
import type { WebSocket } from 'ws';
import type { Egress } from '../egress/egress.js';
import { GATEWAY_VERSION } from '../version.js';

/** A refusal or failed call, as the gateway worded it (OpenClaw's error shape). */
export class GatewayCallError extends Error {
  constructor(
    readonly error: ProtocolError,
    /** The close code, when the gateway closed the socket rather than answering. */
    readonly closeCode?: number,
  ) {
    super(error.message);
    this.name = 'GatewayCallError';
  }

  /** OpenClaw's refinement (`AUTH_TOKEN_MISMATCH`, `MISSING_SCOPE`…) or our error code. */
  get detailCode(): string | undefined {
    return typeof this.error.details?.code === 'string' ? this.error.details.code : undefined;
  }
}

/** The upgrade itself was refused with an HTTP answer (wrong Host, connection limit…): its status and body. */
export class GatewayUpgradeRefused extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`the gateway refused the WebSocket upgrade (HTTP ${status})`);
    this.name = 'GatewayUpgradeRefused';
  }
}

export interface GatewayClientOptions {
  token: string;
  scopes?: string[];
  timeoutMs?: number;
  /** How the client names itself in `connect` (default: the CLI). */
  client?: { id: 'cli' | 'gateway-client'; mode: 'cli' | 'backend' | 'ui'; displayName?: string };
  /** Every event frame after `hello-ok` (`chat`, `agent`, `tick`, `shutdown`). */
  onEvent?: (event: string, payload: unknown) => void;
  /** Once, when an established connection closes. */
  onClose?: (error: Error) => void;
}

type Pending = { resolve: (payload: unknown) => void; reject: (error: Error) => void };

/**
 * Our own client of the control protocol (OpenClaw protocol v4), used by the
 * CLI: connects with the gateway token as a `cli` client, then calls methods.
 * Opened through the egress module like every outbound connection.
 */
export class GatewayClient {
  private readonly pending = new Map<string, Pending>();
  private closed: Error | undefined;

  private constructor(
    private readonly ws: WebSocket,
    readonly hello: HelloOk,
    private readonly listeners: Pick<GatewayClientOptions, 'onEvent' | 'onClose'> = {},
  ) {
    ws.on('message', (data) => this.onFrame(data.toString()));
    ws.on('close', (code, reason) => {
      const error = new Error(`the gateway closed the connection (${code} ${reason})`);
      this.fail(error);
      this.listeners.onClose?.(error);
    });
  }

  static connect(egress: Egress, url: string, options: GatewayClientOptions): Promise<GatewayClient> {
    const ws = egress.websocket(url, { handshakeTimeout: options.timeoutMs ?? 5_000 });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error(`no answer from ${url} within ${options.timeoutMs ?? 5_000} ms`));
      }, options.timeoutMs ?? 5_000);
      const settle = (outcome: () => void) => {
        clearTimeout(timer);
        ws.removeAllListeners('message');
        outcome();
      };
      ws.once('unexpected-response', (_request, response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          body += chunk;
        });
        response.on('end', () =>
          settle(() => reject(new GatewayUpgradeRefused(response.statusCode ?? 0, body))),
        );
      });
      ws.once('error', (error) => settle(() => reject(error)));
      ws.once('close', (code, reason) =>
        settle(() => reject(new Error(`the gateway closed the connection (${code} ${reason.toString()})`))),
      );
      ws.on('message', (data) => {
        const frame = JSON.parse(data.toString()) as {
          type: string;
          event?: string;
          ok?: boolean;
          payload?: unknown;
          error?: ProtocolError;
        };
        if (frame.type === 'event' && frame.event === 'connect.challenge') {
          ws.send(
            JSON.stringify({
              type: 'req',
              id: 'connect',
              method: 'connect',
              params: {
                minProtocol: GATEWAY_PROTOCOL_VERSION,
                maxProtocol: GATEWAY_PROTOCOL_VERSION,
                client: {
                  id: 'cli',
                  version: GATEWAY_VERSION,
                  platform: process.platform,
                  mode: 'cli',
                  ...options.client,
                },
                role: 'operator',
                scopes: options.scopes ?? ['operator.read'],
                auth: { token: options.token },
              },
            }),
          );
          return;
        }
        if (frame.type !== 'res') return;
        settle(() => {
          ws.removeAllListeners('close');
          ws.removeAllListeners('error');
          ws.removeAllListeners('unexpected-response');
          ws.on('error', () => undefined);
          if (frame.ok) resolve(new GatewayClient(ws, frame.payload as HelloOk, options));
          else {
            reject(new GatewayCallError(frame.error as ProtocolError));
            ws.close();
          }
        });
      });
    });
  }

  /** Calls `method` and resolves with its first answer. */
  call(method: string, params?: unknown): Promise<unknown> {
    if (this.closed) return Promise.reject(this.closed);
    const id = randomUUID();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.ws.send(JSON.stringify({ type: 'req', id, method, ...(params === undefined ? {} : { params }) }));
    });
  }

  close(): void {
    this.ws.close(1000);
  }

  private onFrame(text: string): void {
    const frame = JSON.parse(text) as {
      type: string;
      id?: string;
      event?: string;
      ok?: boolean;
      payload?: unknown;
      error?: ProtocolError;
    };
    if (frame.type === 'event' && frame.event !== undefined)
      this.listeners.onEvent?.(frame.event, frame.payload);
    if (frame.type !== 'res' || frame.id === undefined) return;
    const pending = this.pending.get(frame.id);
    if (!pending) return;
    this.pending.delete(frame.id);
    if (frame.ok) pending.resolve(frame.payload);
    else pending.reject(new GatewayCallError(frame.error as ProtocolError));
  }

  private fail(error: Error): void {
    this.closed = error;
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
  }
}
