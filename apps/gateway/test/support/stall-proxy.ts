import { createConnection, createServer, type Socket } from 'node:net';

/**
 * A TCP proxy on loopback the test controls: it forwards every connection to
 * `target()`, and `stall()` freezes the ones open now — both directions stop,
 * neither end hears a FIN — the half-dead connection a heartbeat must catch.
 * Connections made after a stall are forwarded normally.
 */
export async function startStallProxy(target: () => number) {
  const open = new Set<[Socket, Socket]>();
  const stalled = new Set<[Socket, Socket]>();
  let accepted = 0;
  const server = createServer((client) => {
    accepted += 1;
    const upstream = createConnection({ host: '127.0.0.1', port: target() });
    const pair: [Socket, Socket] = [client, upstream];
    open.add(pair);
    client.pipe(upstream);
    upstream.pipe(client);
    const drop = () => {
      open.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    /** Connections accepted so far (a reconnect adds one). */
    get accepted() {
      return accepted;
    },
    stall() {
      for (const [client, upstream] of open) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
        stalled.add([client, upstream]);
      }
      open.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const [client, upstream] of [...open, ...stalled]) {
          client.destroy();
          upstream.destroy();
        }
      }),
  };
}
