import { Agent, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { ErrorEnvelope } from '@multiclaw/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../../test/support/gateway.js';
import { connectControlClient } from '../../test/support/ws-client.js';
import type { ConnectionLimits } from './connection-limits.js';

/**
 * Issue 11, "resource limits against local processes", over real loopback
 * sockets: ~21,000 idle connections used to exhaust the gateway's file
 * descriptors, a slow body after a 401 stayed open for minutes and slow
 * headers were cut only at ~90 s with a 408 outside the error envelope.
 */

let gateways: TestGateway[] = [];
let sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets) socket.destroy();
  for (const gateway of gateways) await gateway.close();
  sockets = [];
  gateways = [];
});

async function gateway(limits: Partial<ConnectionLimits>) {
  const test = await startTestGateway({ connectionLimits: limits });
  gateways.push(test);
  return test;
}

interface RawSocket {
  socket: Socket;
  /** Everything the gateway sent, once it closed the connection; with how long the connection lived. */
  closed: Promise<{ text: string; afterMs: number }>;
}

/** A raw TCP connection from `localAddress` (any 127.x.y.z), writing `text` once connected. */
function rawSocket(port: number, text = '', localAddress = '127.0.0.1'): Promise<RawSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, localAddress });
    sockets.push(socket);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => {});
    socket.once('connect', () => {
      const openedAt = performance.now();
      if (text) socket.write(text);
      const closed = new Promise<{ text: string; afterMs: number }>((done) =>
        socket.once('close', () =>
          done({ text: Buffer.concat(chunks).toString('utf8'), afterMs: performance.now() - openedAt }),
        ),
      );
      resolve({ socket, closed });
    });
    socket.once('error', reject);
  });
}

/** Status and error code of a raw HTTP answer; anything that is not the one envelope fails the test. */
function enveloped(text: string): string {
  const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(text)?.[1]);
  const body = text.slice(text.indexOf('\r\n\r\n') + 4);
  return `${status} ${ErrorEnvelope.parse(JSON.parse(body)).error.code}`;
}

/** Resolves with what happened first: the connection closed, or `ms` passed. */
function closedWithin(raw: RawSocket, ms: number) {
  return Promise.race([
    raw.closed,
    new Promise<'still open'>((resolve) => setTimeout(() => resolve('still open'), ms).unref()),
  ]);
}

describe('connection limits', () => {
  it('a slow body after a 401 is closed at once, the 401 in the envelope', async () => {
    const test = await gateway({});
    const raw = await rawSocket(
      test.port,
      `POST /v1/gateway/status HTTP/1.1\r\nHost: 127.0.0.1:${test.port}\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{"mo`,
    );
    const trickle = setInterval(() => raw.socket.write('x'), 200);
    const result = await closedWithin(raw, 10_000);
    clearInterval(trickle);
    expect(result).not.toBe('still open');
    if (result === 'still open') return;
    expect(enveloped(result.text)).toBe('401 UNAUTHENTICATED');
    expect(result.afterMs).toBeLessThan(5_000);
    expect(result.text.toLowerCase()).toContain('connection: close');
  });

  it('slow headers get an enveloped 408 REQUEST_TIMEOUT and are closed within the time set in openclaw.json', async () => {
    const test = await startTestGateway({
      configure: (config) => ({
        ...config,
        gateway: { ...config.gateway, connections: { headersTimeoutMs: 1_000 } },
      }),
    });
    gateways.push(test);
    const raw = await rawSocket(
      test.port,
      `GET /v1/gateway/status HTTP/1.1\r\nHost: 127.0.0.1:${test.port}\r\n`,
    );
    const result = await closedWithin(raw, 15_000);
    expect(result).not.toBe('still open');
    if (result === 'still open') return;
    expect(enveloped(result.text)).toBe('408 REQUEST_TIMEOUT');
    expect(result.afterMs).toBeGreaterThanOrEqual(900);
    // An idle connection that never sends a byte gets the same.
    const idle = await closedWithin(await rawSocket(test.port), 15_000);
    expect(idle === 'still open' ? idle : enveloped(idle.text)).toBe('408 REQUEST_TIMEOUT');
  });

  it('sheds the oldest unauthenticated socket of a client at its cap, never an authenticated one', async () => {
    const test = await gateway({ maxConnectionsPerClient: 5 });
    const agent = new Agent({ keepAlive: true, maxSockets: 1, localAddress: '127.0.0.5' });
    const get = () =>
      new Promise<number>((resolve, reject) => {
        const req = request(`${test.url}/v1/gateway/status`, { agent, headers: test.authHeaders }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end();
      });
    expect(await get()).toBe(200);
    const strangers: RawSocket[] = [];
    for (let i = 0; i < 8; i += 1) strangers.push(await rawSocket(test.port, '', '127.0.0.5'));
    // 1 authenticated + 4 strangers fit; each of the 4 newer strangers shed the oldest one.
    const shed = await Promise.all(strangers.slice(0, 4).map((raw) => closedWithin(raw, 10_000)));
    for (const result of shed)
      expect(result === 'still open' ? result : enveloped(result.text)).toBe('503 GATEWAY_CONNECTION_LIMIT');
    expect(test.gateway.openConnections()).toBe(5);
    expect(await get()).toBe(200);
    // Another address has its own allowance.
    const other = await rawSocket(test.port, '', '127.0.0.6');
    expect(await closedWithin(other, 300)).toBe('still open');
    agent.destroy();
  });

  it('refuses a newcomer with 503 in the envelope when every open socket is authenticated', async () => {
    const test = await gateway({ maxConnections: 2 });
    const first = await connectControlClient(test.url, test.token);
    const second = await connectControlClient(test.url, test.token);
    const newcomer = await closedWithin(await rawSocket(test.port), 10_000);
    expect(newcomer === 'still open' ? newcomer : enveloped(newcomer.text)).toBe(
      '503 GATEWAY_CONNECTION_LIMIT',
    );
    expect((await first.client.request('health')).ok).toBe(true);
    expect((await second.client.request('health')).ok).toBe(true);
    first.client.close();
    second.client.close();
  });

  it('a bounded flood of idle and slow sockets from rotating addresses never starves the authenticated client', async () => {
    const limits = { maxConnections: 200, maxConnectionsPerClient: 50, headersTimeoutMs: 2_000 };
    const test = await gateway(limits);
    const { client } = await connectControlClient(test.url, test.token);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const answers: string[] = [];
    let peak = 0;
    let flooding = true;
    const sampler = setInterval(() => {
      peak = Math.max(peak, test.gateway.openConnections());
    }, 20);
    const realClient = (async () => {
      while (flooding) {
        const status = await new Promise<number>((resolve, reject) => {
          const req = request(
            `${test.url}/v1/gateway/status`,
            { agent, headers: test.authHeaders },
            (res) => {
              res.resume();
              res.on('end', () => resolve(res.statusCode ?? 0));
            },
          );
          req.on('error', reject);
          req.end();
        });
        const health = await client.request('health');
        answers.push(`${status}/${health.ok ? 'ok' : 'refused'}`);
      }
    })();

    // 1,000 sockets from 127.0.0.1–127.0.3.250: a third idle, a third with headers that never end,
    // a third with an unauthenticated body that trickles. Each ends when the gateway closes it.
    const flood: Promise<{ text: string; afterMs: number }>[] = [];
    const kinds = [
      '',
      `GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1:${test.port}\r\nX-Slow: `,
      `POST /v1/gateway/status HTTP/1.1\r\nHost: 127.0.0.1:${test.port}\r\nContent-Length: 99999\r\n\r\n{`,
    ];
    for (let i = 0; i < 1_000; i += 1) {
      const source = `127.0.${Math.floor(i / 250)}.${(i % 250) + 1}`;
      const raw = await rawSocket(test.port, kinds[i % 3], source);
      flood.push(raw.closed);
    }
    const results = await Promise.all(flood);
    flooding = false;
    await realClient;
    clearInterval(sampler);
    client.close();
    agent.destroy();

    expect(answers.length).toBeGreaterThan(0);
    expect(new Set(answers)).toEqual(new Set(['200/ok']));
    expect(peak).toBeLessThanOrEqual(limits.maxConnections);
    // Every flood socket was closed by the gateway, in seconds, with an enveloped answer.
    expect(Math.max(...results.map((result) => result.afterMs))).toBeLessThan(30_000);
    const codes = new Set(results.map((result) => enveloped(result.text)));
    for (const code of codes)
      expect(['503 GATEWAY_CONNECTION_LIMIT', '408 REQUEST_TIMEOUT', '401 UNAUTHENTICATED']).toContain(code);
  }, 120_000);
});
