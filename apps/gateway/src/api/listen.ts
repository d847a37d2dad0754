import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { GatewayServer } from './server.js';

export interface ListeningGateway {
  port: number;
  /** Every address actually listened on, e.g. ['127.0.0.1', '::1']. */
  addresses: string[];
  /** The first address's URL, e.g. `http://127.0.0.1:18789`. */
  url: string;
  app: FastifyInstance;
  /** Connections open right now, across every listener (what the caps count). */
  openConnections(): number;
  /** Control clients told first (OpenClaw's `shutdown`, close 1012), then every listener closed. */
  close(): Promise<void>;
}

/**
 * Serves a built gateway on each address of its bind (127.0.0.1 and ::1 for
 * `loopback`), all on one port: the first listener's when the port is 0.
 */
export async function listen(server: GatewayServer): Promise<ListeningGateway> {
  const { app } = server;
  const [first, ...rest] = hostsOf(server.address.bind);
  const addresses: string[] = [];
  const others: Server[] = [];
  const close = async () => {
    server.closeControl('gateway stopping');
    await Promise.all(
      others.map((listener) => new Promise<void>((resolve) => listener.close(() => resolve()))),
    );
    for (const listener of [app.server, ...others]) listener.closeAllConnections();
    // Fastify closes its own listener, the first.
    await server.close();
  };

  try {
    await app.listen({ host: first, port: server.address.port });
    server.address.port = (app.server.address() as AddressInfo).port;
    addresses.push(first);
    for (const host of rest) {
      const listener = server.createListener();
      if (await listenOn(listener, host, server.address.port)) {
        others.push(listener);
        addresses.push(host);
      }
    }
  } catch (error) {
    // An address someone else holds: whatever is listening already is closed again.
    await close().catch(() => {});
    throw error;
  }
  const { port } = server.address;
  return {
    port,
    addresses,
    url: `http://${first.includes(':') ? `[${first}]` : first}:${port}`,
    app,
    openConnections: server.openConnections,
    close,
  };
}

function hostsOf(bind: string): [string, ...string[]] {
  return bind === 'loopback' ? ['127.0.0.1', '::1'] : [bind];
}

/** False when the address does not exist here: a machine without IPv6 loopback still serves on 127.0.0.1. */
function listenOn(listener: Server, host: string, port: number): Promise<boolean> {
  return new Promise<boolean>((resolve, reject) => {
    listener.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRNOTAVAIL' || error.code === 'EAFNOSUPPORT') resolve(false);
      else reject(error);
    });
    listener.listen({ host, port }, () => resolve(true));
  });
}
