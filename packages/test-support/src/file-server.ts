import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LocalFileServer {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  /** What is served, by path (`/updates/gateway/stable/manifest.json`); change it at will. */
  files: Map<string, Buffer | string>;
  /** Every path asked for, in order. */
  requests: string[];
  close(): Promise<void>;
}

/**
 * A plain HTTP server on 127.0.0.1 that answers from a map of paths: the
 * stand-in for a static host on the internet (an update feed). Unknown paths
 * answer 404.
 */
export async function startFileServer(): Promise<LocalFileServer> {
  const files = new Map<string, Buffer | string>();
  const requests: string[] = [];
  const server = createServer((request, response) => {
    const path = request.url ?? '';
    requests.push(path);
    const body = files.get(path);
    if (body === undefined) response.writeHead(404).end();
    else response.writeHead(200).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    files,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
