import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GatewayStatus } from '@multiclaw/protocol';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { builtServer } from '../../test/support/built-server.js';
import { resolveGatewayPaths } from '../config/paths.js';
import { startGateway } from '../gateway.js';

let cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

const log = pino({ level: 'silent' });

async function stateDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mc-gateway-server-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

describe('buildServer', () => {
  it('builds the whole API without listening: routes answer in process, behind the same guard', async () => {
    const { server, token } = await builtServer({
      port: 18789,
      cleanups,
      configure: (config) => ({
        ...config,
        agents: { list: [{ id: 'helper', name: 'Helper', model: 'up/model-x' }] },
        models: {
          providers: {
            up: { api: 'openai-completions', baseUrl: 'http://127.0.0.1:9', allowedAgents: ['helper'] },
          },
        },
      }),
    });
    const { app } = server;
    const host = '127.0.0.1:18789';
    const health = await app.inject({ url: '/healthz', headers: { host } });
    expect(health.statusCode).toBe(200);
    expect(health.json()).toEqual({ status: 'ok' });
    const models = await app.inject({
      url: '/v1/models',
      headers: { host, authorization: `Bearer ${token}` },
    });
    expect(models.statusCode).toBe(200);
    expect(models.json()).toEqual({ object: 'list', data: [expect.objectContaining({ id: 'helper' })] });
    // The guard: Host names the port the server was built for, then the token.
    const otherPort = await app.inject({ url: '/healthz', headers: { host: '127.0.0.1:18790' } });
    expect(otherPort.json().error.code).toBe('GATEWAY_HOST_NOT_ALLOWED');
    const status = await app.inject({
      url: '/v1/gateway/status',
      headers: { host, authorization: `Bearer ${token}` },
    });
    expect(status.statusCode).toBe(200);
    // Parsed by the same schema the route declares and the CLI reads.
    expect(GatewayStatus.parse(status.json())).toMatchObject({ agents: 1, providers: 1, sessions: 0 });
    const noToken = await app.inject({ url: '/v1/gateway/status', headers: { host } });
    expect(noToken.statusCode).toBe(401);
    expect(app.server.listening).toBe(false);
    expect(server.openConnections()).toBe(0);
  });

  it('a path that is not valid percent-encoding gets the envelope, as every other refusal does', async () => {
    const { server } = await builtServer({ port: 18789, cleanups });
    const response = await server.app.inject({
      url: '/v1/models/%E0%A4%A',
      headers: { host: '127.0.0.1:18789' },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({
      error: expect.objectContaining({ code: 'BAD_REQUEST', requestId: expect.any(String) }),
    });
  });
});

describe('listen', () => {
  it('a bind address it cannot take stops the start and leaves nothing listening', async (ctx) => {
    // Hold [::1]:<port>, so 127.0.0.1 listens and ::1 fails with EADDRINUSE.
    const holder = createServer();
    const held = await new Promise<number | undefined>((resolve) => {
      holder.once('error', () => resolve(undefined));
      holder.listen({ host: '::1', port: 0 }, () => resolve((holder.address() as { port: number }).port));
    });
    if (held === undefined) return ctx.skip(); // no IPv6 loopback here
    cleanups.push(() => new Promise((resolve) => holder.close(resolve)));
    const paths = resolveGatewayPaths({ OPENCLAW_STATE_DIR: await stateDir() });

    const refused = await startGateway({ paths, log, port: held }).catch((error: unknown) => error);
    expect(refused).toMatchObject({ code: 'EADDRINUSE' });
    // 127.0.0.1:<port> was listening for a moment; it must be closed again, so the port is free.
    const probe = createServer();
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen({ host: '127.0.0.1', port: held }, () => resolve());
    });
    await new Promise((resolve) => probe.close(resolve));
    // And the store was released: the gateway starts on the same state directory.
    const gateway = await startGateway({ paths, log, port: 0 });
    await gateway.close();
  });
});
