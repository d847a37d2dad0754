import { WS_PROTOCOL_VERSION } from '@multiclaw/protocol';
import { WebSocket } from 'ws';

export type Frame = { type: string; id?: string; payload: Record<string, unknown> };

/**
 * A real `ws` client of `/v1/realtime` for tests: records every frame and
 * the close, and waits for either. (Tests only.)
 */
export type TestSocket = {
  frames: Frame[];
  send(raw: string): void;
  auth(accessToken: string, id?: string): void;
  /** The next frame (from `from` on) that `match` accepts. */
  next(match: (frame: Frame) => boolean, from?: number): Promise<Frame>;
  closed: Promise<{ code: number; reason: string }>;
  close(): void;
};

export async function openTestSocket(
  url: string,
  options: { headers?: Record<string, string> } = {},
): Promise<TestSocket> {
  const ws = new WebSocket(url, { headers: options.headers });
  const frames: Frame[] = [];
  const waiters = new Set<() => void>();
  ws.on('message', (data) => {
    frames.push(JSON.parse(String(data)) as Frame);
    for (const wake of [...waiters]) wake();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on('close', (code, reason) => {
      resolve({ code, reason: reason.toString() });
      for (const wake of [...waiters]) wake();
    });
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const socket: TestSocket = {
    frames,
    send: (raw) => ws.send(raw),
    auth: (accessToken, id) =>
      ws.send(JSON.stringify({ v: WS_PROTOCOL_VERSION, type: 'auth.token', id, payload: { accessToken } })),
    next(match, from = 0) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = frames.slice(from).find(match);
          if (found) {
            waiters.delete(check);
            resolve(found);
          } else if (ws.readyState === ws.CLOSED) {
            waiters.delete(check);
            reject(new Error(`socket closed before the frame came; got ${JSON.stringify(frames)}`));
          }
        };
        waiters.add(check);
        check();
      });
    },
    closed,
    close: () => ws.close(),
  };
  return socket;
}

/** Opens a socket and signs it in; resolves once `auth.ok` came. */
export async function signedInSocket(url: string, accessToken: string): Promise<TestSocket> {
  const socket = await openTestSocket(url);
  socket.auth(accessToken);
  await socket.next((frame) => frame.type === 'auth.ok');
  return socket;
}

export const isEvent =
  (kind: string, match: Record<string, unknown> = {}) =>
  (frame: Frame) =>
    frame.type === 'realtime.event' &&
    frame.payload.kind === kind &&
    Object.entries(match).every(([key, value]) => frame.payload[key] === value);
