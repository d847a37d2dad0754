import { createConnection, createServer, type Socket } from 'node:net';

/**
 * A TCP proxy on loopback that the fault suite controls, in front of the
 * cloud (the link) or of PostgreSQL. It forwards each new connection to
 * `target()` (read at connect time, so a restarted server on a new port is
 * followed) and can break the connections open now:
 * - `drop()`: both ends are reset at once;
 * - `stall()`: nothing moves either way and neither end hears a FIN;
 * - `halfOpen()`: the client's bytes still reach the server, the server's
 *   replies vanish (a batch is applied, its ack never arrives), no FIN.
 * Broken connections stay broken until an end gives up on them; new
 * connections are forwarded normally.
 */
export interface FaultProxy {
  port: number;
  url: string;
  /** Connections accepted so far. */
  readonly accepted: number;
  drop(): number;
  stall(): number;
  halfOpen(): number;
  close(): Promise<void>;
}

export async function startFaultProxy(target: () => number): Promise<FaultProxy> {
  const open = new Set<{ client: Socket; upstream: Socket }>();
  const broken = new Set<{ client: Socket; upstream: Socket }>();
  let accepted = 0;
  const server = createServer((client) => {
    accepted += 1;
    const upstream = createConnection({ host: '127.0.0.1', port: target() });
    const pair = { client, upstream };
    open.add(pair);
    client.pipe(upstream);
    upstream.pipe(client);
    const end = () => {
      open.delete(pair);
      broken.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };

  /** Applies `how` to every connection open now; answers how many. */
  const breakAll = (how: (pair: { client: Socket; upstream: Socket }) => void) => {
    const count = open.size;
    for (const pair of open) {
      how(pair);
      broken.add(pair);
    }
    open.clear();
    return count;
  };

  return {
    port,
    url: `http://127.0.0.1:${port}`,
    get accepted() {
      return accepted;
    },
    drop: () =>
      breakAll(({ client, upstream }) => {
        client.resetAndDestroy();
        upstream.resetAndDestroy();
      }),
    stall: () =>
      breakAll(({ client, upstream }) => {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
      }),
    halfOpen: () =>
      breakAll(({ client, upstream }) => {
        upstream.unpipe(client);
        // Read and discard what the server says, so it never blocks on a full buffer.
        upstream.on('data', () => {});
      }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const { client, upstream } of [...open, ...broken]) {
          client.destroy();
          upstream.destroy();
        }
      }),
  };
}
