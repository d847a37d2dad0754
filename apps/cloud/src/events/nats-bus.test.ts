import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { createLogger } from '@multiclaw/runtime/logger';
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentsChanged, busContract, nextMatching } from './bus-contract.js';
import type { ManagedEventBus } from './create-event-bus.js';
import { createNatsBus } from './nats-bus.js';

// The CI machine runs NATS here (DESIGN.md §7); NATS_URL names another server.
const nats = new URL(process.env.NATS_URL ?? 'nats://127.0.0.1:4222');
const logger = createLogger({ level: 'silent' });
// A subject of this run's own: other runs on the same server stay out of it.
const subject = `multiclaw-test.${randomBytes(6).toString('hex')}`;
let proxy: CuttableProxy;
let a: ManagedEventBus;
let b: ManagedEventBus;
let raw: NatsConnection;

/** A TCP relay to the NATS server whose connections the test can cut. */
type CuttableProxy = { port: number; cut(): number; close(): Promise<void> };

async function startProxy(): Promise<CuttableProxy> {
  const open = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = tcpConnect(Number(nats.port || 4222), nats.hostname);
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.on('close', () => open.delete(socket));
      socket.on('error', () => {});
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('proxy has no port');
  return {
    port: address.port,
    cut() {
      const count = open.size;
      for (const socket of open) socket.destroy();
      return count;
    },
    async close() {
      for (const socket of open) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

beforeAll(async () => {
  proxy = await startProxy();
  const viaProxy = `nats://127.0.0.1:${proxy.port}`;
  a = createNatsBus({ url: viaProxy, subject, logger, name: 'bus test a' });
  b = createNatsBus({ url: viaProxy, subject, logger, name: 'bus test b' });
  await Promise.all([a.ready(), b.ready()]);
  raw = await connect({ servers: nats.host });
});

afterAll(async () => {
  await Promise.all([a?.close(), b?.close(), raw?.close()]);
  await proxy?.close();
});

describe('NATS event bus', () => {
  busContract(() => ({ a, b }));

  it('ignores a malformed message on its subject and keeps delivering', async () => {
    const heard: unknown[] = [];
    const off = b.subscribe((m) => heard.push(m));
    const marker = agentsChanged();
    const seen = nextMatching(b, (m) => JSON.stringify(m) === JSON.stringify(marker));
    raw.publish(subject, '{"type":"membership.ended","workspaceId":"x"}');
    raw.publish(subject, 'not json');
    await raw.flush();
    await a.publish(marker);
    await seen;
    off();
    expect(heard).toEqual([marker]);
  });

  it('survives a cut connection: the client reconnects and re-subscribes, says so, and delivers again', async () => {
    const reconnected = [a, b].map(
      (bus) =>
        new Promise<void>((resolve) => {
          const off = bus.onReconnect(() => {
            off();
            resolve();
          });
        }),
    );
    expect(proxy.cut()).toBe(4); // two clients, each with its upstream
    await Promise.all(reconnected);

    const message = agentsChanged();
    const onA = nextMatching(a, (m) => JSON.stringify(m) === JSON.stringify(message));
    const onB = nextMatching(b, (m) => JSON.stringify(m) === JSON.stringify(message));
    await b.publish(message);
    expect(await onA).toEqual(message);
    expect(await onB).toEqual(message);
  });

  it('cannot start without its server, and names it without its password', async () => {
    const nowhere = createNatsBus({ url: 'nats://bus:Hunter2-secret@127.0.0.1:1', subject, logger });
    const failure = await nowhere.ready().then(
      () => undefined,
      (error: Error) => error.message,
    );
    expect(failure).toMatch(/event bus: cannot connect to NATS at nats:\/\/127\.0\.0\.1:1/);
    expect(failure).not.toContain('Hunter2-secret');
    await nowhere.close();
  });
});
