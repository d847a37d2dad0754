import { createServer } from 'node:http';

/** True when nothing listens on host:port (we could bind it ourselves). Inbound only: binds, never connects. */
export function portIsFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}
