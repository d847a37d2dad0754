import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A static update feed on 127.0.0.1: path → body, with a log of what was asked for. */
export interface FeedServer {
  url: string;
  files: Map<string, Buffer | string>;
  requests: string[];
  /** Bodies sent after the headers without a Content-Length (to test the cap on the stream itself). */
  chunked: Set<string>;
  close(): Promise<void>;
}

export async function startFeedServer(): Promise<FeedServer> {
  const files = new Map<string, Buffer | string>();
  const requests: string[] = [];
  const chunked = new Set<string>();
  const server: Server = createServer((request, response) => {
    const path = request.url ?? '/';
    requests.push(path);
    const body = files.get(path);
    if (body === undefined) {
      response.writeHead(404).end();
      return;
    }
    if (chunked.has(path)) {
      response.writeHead(200, { 'content-type': 'application/octet-stream' });
      response.write(body);
      response.end();
      return;
    }
    response.writeHead(200, { 'content-length': Buffer.byteLength(body) }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/feed`,
    files,
    requests,
    chunked,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
