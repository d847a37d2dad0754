/**
 * The plumbing shared by the fake providers: a node:http server on
 * 127.0.0.1, request recording, SSE writing with scripted pauses, and a
 * close that also ends hanging streams.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as pause } from 'node:timers/promises';
import type { FakeProvider, FakeScript, RecordedRequest } from './script.js';

export type Handler = (
  request: RecordedRequest,
  index: number,
  script: FakeScript,
  res: ServerResponse,
) => Promise<void>;

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export async function startFakeServer(
  initialScript: FakeScript,
  handler: Handler,
  baseUrlOf: (url: string) => string,
): Promise<FakeProvider> {
  let script = initialScript;
  const requests: RecordedRequest[] = [];

  const server = createServer((req, res) => {
    const closed = new Promise<{ completed: boolean }>((resolve) => {
      res.on('close', () => resolve({ completed: res.writableFinished }));
    });
    void (async () => {
      const rawBody = await readBody(req);
      const recorded: RecordedRequest = {
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        headers: req.headers,
        rawBody,
        body: parseJson(rawBody),
        closed,
      };
      requests.push(recorded);
      await handler(recorded, requests.length - 1, script, res);
    })().catch(() => {
      // The client went away mid-reply: nothing left to do.
      res.destroy();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    baseUrl: baseUrlOf(url),
    requests,
    setScript(next) {
      script = next;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** Starts an SSE response; headers are flushed at once, as real providers do. */
export function startEventStream(res: ServerResponse, headers: Record<string, string> = {}): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    ...headers,
  });
  res.flushHeaders();
  res.socket?.setNoDelay(true);
}

/** Writes one SSE frame (`event: …` when named, then `data: …`, then a blank line). */
export async function writeEvent(res: ServerResponse, data: string, event?: string): Promise<void> {
  if (res.destroyed) throw new Error('client gone');
  const frame = `${event ? `event: ${event}\n` : ''}data: ${data}\n\n`;
  if (!res.write(frame)) await once(res, 'drain');
}

export async function waitBeforeChunk(delayMs: number | undefined): Promise<void> {
  if (delayMs) await pause(delayMs);
}

/**
 * Cuts the connection mid-body: a TCP reset (data in flight may be lost), or
 * a close of the socket after what was written so far (FIN, no final chunk).
 */
export function cut(res: ServerResponse, how: 'reset' | 'close'): void {
  const socket = res.socket;
  if (!socket) return;
  if (how === 'reset') socket.resetAndDestroy();
  else socket.end();
}

/** Answers 3xx with a Location header. */
export function redirect(res: ServerResponse, status: number, location: string): void {
  res.writeHead(status, { location, 'content-length': '0' });
  res.end();
}

/** An http://127.0.0.1 URL on which nothing listens (a port that was just freed). */
export async function closedPortUrl(): Promise<string> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

/** A rough token count for default usage numbers: words and punctuation runs. */
export function roughTokens(text: string): number {
  return text.match(/\w+|[^\s\w]+/g)?.length ?? 0;
}
