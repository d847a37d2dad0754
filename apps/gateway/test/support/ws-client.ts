import { randomUUID } from 'node:crypto';
import { type GatewayEventFrame, type GatewayResponseFrame, StoredMessage } from '@multiclaw/protocol';
import WebSocket from 'ws';
import { z } from 'zod';

/**
 * A real WebSocket client for the control protocol, for tests: waits for the
 * challenge, sends `connect`, then correlates requests with responses and
 * collects events.
 */
export interface ControlClient {
  ws: WebSocket;
  nonce: string;
  events: GatewayEventFrame[];
  request(method: string, params?: unknown): Promise<GatewayResponseFrame>;
  sendRaw(data: string): void;
  nextEvent(predicate: (event: GatewayEventFrame) => boolean, timeoutMs?: number): Promise<GatewayEventFrame>;
  closed: Promise<{ code: number; reason: string }>;
  close(): void;
}

export async function openControlSocket(
  url: string,
  options: { headers?: Record<string, string> } = {},
): Promise<ControlClient> {
  const ws = new WebSocket(url.replace(/^http/, 'ws'), { headers: options.headers ?? {} });
  const events: GatewayEventFrame[] = [];
  const pending = new Map<string, (frame: GatewayResponseFrame) => void>();
  const waiters: {
    predicate: (event: GatewayEventFrame) => boolean;
    resolve: (event: GatewayEventFrame) => void;
  }[] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  const challenge = new Promise<string>((resolve, reject) => {
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) =>
      reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)),
    );
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as GatewayEventFrame | GatewayResponseFrame;
      if (frame.type === 'res') {
        pending.get(frame.id)?.(frame);
        pending.delete(frame.id);
        return;
      }
      events.push(frame);
      if (frame.event === 'connect.challenge') resolve((frame.payload as { nonce: string }).nonce);
      for (const waiter of [...waiters]) {
        if (waiter.predicate(frame)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(frame);
        }
      }
    });
  });
  const nonce = await challenge;
  return {
    ws,
    nonce,
    events,
    closed,
    request: (method, params) =>
      new Promise((resolve) => {
        const id = randomUUID();
        pending.set(id, resolve);
        ws.send(JSON.stringify({ type: 'req', id, method, ...(params === undefined ? {} : { params }) }));
      }),
    sendRaw: (data) => ws.send(data),
    nextEvent: (predicate, timeoutMs = 10_000) => {
      const seen = events.find(predicate);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('timed out waiting for an event')), timeoutMs);
        waiters.push({
          predicate,
          resolve: (event) => {
            clearTimeout(timer);
            resolve(event);
          },
        });
      });
    },
    close: () => ws.close(),
  };
}

/** Every operator scope: what OpenClaw's own CLI asks for. */
export const ALL_SCOPES = [
  'operator.read',
  'operator.write',
  'operator.admin',
  'operator.approvals',
  'operator.pairing',
];

/** A `connect` as an OpenClaw v4 client sends it with the gateway token and no device identity. */
export function connectParams(token: string, options: { scopes?: string[] } = {}) {
  return {
    minProtocol: 4,
    maxProtocol: 4,
    client: { id: 'test', version: '0.0.0', platform: 'linux', mode: 'test' },
    role: 'operator',
    scopes: options.scopes ?? ALL_SCOPES,
    auth: { token },
  };
}

/** Opens a socket and completes the handshake; throws if the gateway refuses. */
export async function connectControlClient(
  url: string,
  token: string,
  headers?: Record<string, string>,
  options: { scopes?: string[] } = {},
) {
  const client = await openControlSocket(url, headers ? { headers } : {});
  const hello = await client.request('connect', connectParams(token, options));
  if (!hello.ok) throw new Error(`connect refused: ${hello.error.code} ${hello.error.message}`);
  return { client, hello };
}

/** A message as `chat.history` answers it (assistant text as OpenClaw's content parts). */
const HistoryMessage = z.object({
  role: StoredMessage.shape.role,
  content: z.union([z.string(), z.array(z.strictObject({ type: z.literal('text'), text: z.string() }))]),
  status: StoredMessage.shape.status,
});
export type PlainMessage = { role: StoredMessage['role']; content: string; status: StoredMessage['status'] };

/** A session's messages from `chat.history`, their text made plain. */
export async function plainHistory(client: Pick<ControlClient, 'request'>, sessionKey: string | undefined) {
  const response = await client.request('chat.history', { sessionKey });
  if (!response.ok) throw new Error(response.error.message);
  return (response.payload as { messages: unknown[] }).messages.map((message): PlainMessage => {
    const { role, content, status } = HistoryMessage.parse(message);
    return {
      role,
      status,
      content: typeof content === 'string' ? content : content.map((part) => part.text).join(''),
    };
  });
}
