import { ApiError, ErrorEnvelope } from '@multiclaw/protocol';
import { manualClock } from '@multiclaw/test-support/clock';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp } from '../../test/support/app.js';
import { errorsPlugin } from './errors.js';
import { type RateLimitPluginOptions, rateLimited, rateLimitPlugin } from './rate-limit.js';

const TRUSTED_PROXY = '10.0.0.1';

/** A small app: our error plugin, the rate-limit plugin, and a few routes with different budgets. */
async function buildLimitedApp(options: Partial<RateLimitPluginOptions> = {}) {
  const clock = manualClock();
  const app = Fastify({ trustProxy: [TRUSTED_PROXY] });
  await app.register(errorsPlugin);
  await app.register(rateLimitPlugin, {
    max: 2,
    timeWindowMs: 30_000,
    budgets: { auth: { max: 3, timeWindowMs: 60_000 } },
    now: clock.now,
    ...options,
  });
  app.post('/login', { config: rateLimited('auth') }, async () => ({ ok: true }));
  app.post('/register', { config: rateLimited('auth') }, async () => ({ ok: true }));
  app.post('/refresh', { config: rateLimited() }, async () => ({ ok: true }));
  app.post('/inline', { config: { rateLimit: { max: 1, timeWindow: 10_000 } } }, async () => ({ ok: true }));
  app.post('/open', async () => ({ ok: true }));
  await app.ready();
  return { app, clock };
}

/** Anything that answers `inject`: our small app or the cloud app. */
type Injectable = Pick<FastifyInstance, 'inject'>;

function hit(app: Injectable, url: string, remoteAddress: string, headers: Record<string, string> = {}) {
  return app.inject({ method: 'POST', url, remoteAddress, headers });
}

async function statuses(app: Injectable, url: string, remoteAddress: string, count: number) {
  const result: number[] = [];
  for (let i = 0; i < count; i += 1) result.push((await hit(app, url, remoteAddress)).statusCode);
  return result;
}

describe('rate-limit plugin', () => {
  let app: FastifyInstance;
  let clock: ReturnType<typeof manualClock>;

  beforeAll(async () => {
    ({ app, clock } = await buildLimitedApp());
  });

  afterAll(async () => {
    await app.close();
  });

  afterEach(() => {
    // Every test starts in a fresh window.
    clock.advanceSeconds(3600);
  });

  it('answers 429 with Retry-After and the error envelope once the budget is spent', async () => {
    expect(await statuses(app, '/login', '203.0.113.1', 3)).toEqual([200, 200, 200]);
    const refused = await hit(app, '/login', '203.0.113.1');
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['retry-after']).toBe('60');
    const envelope = ErrorEnvelope.parse(refused.json());
    expect(envelope.error.code).toBe('RATE_LIMITED');
    expect(envelope.error.message).toBe('Too many requests; try again in 60 seconds.');
    expect(ApiError.fromEnvelope(refused.json()).status).toBe(429);
  });

  it('tells the real time left, and lets the client back in when the window ends', async () => {
    await statuses(app, '/login', '203.0.113.2', 3);
    clock.advanceSeconds(24.2);
    const refused = await hit(app, '/login', '203.0.113.2');
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['retry-after']).toBe('36'); // 35.8 s left, rounded up
    clock.advanceSeconds(35.7);
    expect((await hit(app, '/login', '203.0.113.2')).headers['retry-after']).toBe('1');
    clock.advanceSeconds(0.1);
    expect((await hit(app, '/login', '203.0.113.2')).statusCode).toBe(200);
  });

  it('keeps other clients unaffected', async () => {
    await statuses(app, '/login', '203.0.113.3', 4);
    expect((await hit(app, '/login', '203.0.113.3')).statusCode).toBe(429);
    expect(await statuses(app, '/login', '203.0.113.4', 3)).toEqual([200, 200, 200]);
    expect((await hit(app, '/login', '2001:db8::3')).statusCode).toBe(200);
  });

  it('counts an IPv4 client and its IPv4-mapped IPv6 spelling as one', async () => {
    expect((await hit(app, '/login', '10.0.0.9')).statusCode).toBe(200);
    expect((await hit(app, '/login', '::ffff:10.0.0.9')).statusCode).toBe(200);
    expect((await hit(app, '/login', '::FFFF:a00:9')).statusCode).toBe(200);
    expect((await hit(app, '/login', '10.0.0.9')).statusCode).toBe(429);
    expect((await hit(app, '/login', '::ffff:10.0.0.9')).statusCode).toBe(429);
  });

  it('counts a whole IPv6 /64 as one client', async () => {
    expect((await hit(app, '/login', '2001:db8:1:2::1')).statusCode).toBe(200);
    expect((await hit(app, '/login', '2001:db8:1:2::2')).statusCode).toBe(200);
    expect((await hit(app, '/login', '2001:DB8:1:2:ffff:ffff:ffff:ffff')).statusCode).toBe(200);
    expect((await hit(app, '/login', '2001:db8:1:2:1234::9')).statusCode).toBe(429);
    expect((await hit(app, '/login', '2001:db8:1:3::1')).statusCode).toBe(200);
  });

  it('gives loopback no exemption', async () => {
    expect(await statuses(app, '/login', '127.0.0.1', 4)).toEqual([200, 200, 200, 429]);
    expect(await statuses(app, '/login', '::1', 4)).toEqual([200, 200, 200, 429]);
  });

  it('cannot be escaped with X-Forwarded-For from an untrusted client', async () => {
    const results: number[] = [];
    for (let i = 0; i < 6; i += 1) {
      const response = await hit(app, '/login', '203.0.113.5', { 'x-forwarded-for': `198.51.100.${i}` });
      results.push(response.statusCode);
    }
    expect(results).toEqual([200, 200, 200, 429, 429, 429]);
  });

  it('counts the forwarded client behind a trusted proxy, which cannot prepend its own hops', async () => {
    const viaProxy = (forwardedFor: string) =>
      hit(app, '/login', TRUSTED_PROXY, { 'x-forwarded-for': forwardedFor }).then((r) => r.statusCode);
    const client = '198.51.100.77';
    const results = [];
    for (let i = 0; i < 5; i += 1) results.push(await viaProxy(`192.0.2.${i}, ${client}`));
    expect(results).toEqual([200, 200, 200, 429, 429]);
    // Another client behind the same proxy has its own budget.
    expect(await viaProxy('198.51.100.78')).toBe(200);
  });

  it('shares a named budget between routes, and keeps other routes separate', async () => {
    const client = '203.0.113.6';
    expect((await hit(app, '/login', client)).statusCode).toBe(200);
    expect((await hit(app, '/register', client)).statusCode).toBe(200);
    expect((await hit(app, '/login', client)).statusCode).toBe(200);
    expect((await hit(app, '/register', client)).statusCode).toBe(429);
    // The default budget (2 per 30 s) and an inline one (1 per 10 s) count separately.
    expect(await statuses(app, '/refresh', client, 3)).toEqual([200, 200, 429]);
    const inline = await statuses(app, '/inline', client, 2);
    expect(inline).toEqual([200, 429]);
    expect((await hit(app, '/inline', client)).headers['retry-after']).toBe('10');
    // Routes that did not opt in are not limited.
    expect(await statuses(app, '/open', client, 20)).toEqual(Array(20).fill(200));
  });

  it('refuses, at start-up, a route that names an unknown budget', async () => {
    const broken = Fastify();
    await broken.register(rateLimitPlugin, { max: 1, timeWindowMs: 1000 });
    expect(() => broken.post('/x', { config: rateLimited('nope') }, async () => ({}))).toThrow(
      /unknown budget "nope"/,
    );
    await broken.close();
  });

  it('refuses invalid options', async () => {
    for (const bad of [
      { max: 0 },
      { timeWindowMs: 0 },
      { budgets: { Auth: { max: 1, timeWindowMs: 1 } } },
      { ipv6PrefixLength: 200 },
    ]) {
      const instance = Fastify();
      await expect(
        instance.register(rateLimitPlugin, { max: 1, timeWindowMs: 1000, ...bad }).ready(),
      ).rejects.toThrow();
      await instance.close();
    }
    expect(() => rateLimited('Not A Name')).toThrow();
  });

  it('keeps memory bounded, forgetting the least recently seen clients first', async () => {
    const small = await buildLimitedApp({ maxClients: 2 });
    await statuses(small.app, '/login', '203.0.113.10', 4);
    expect((await hit(small.app, '/login', '203.0.113.10')).statusCode).toBe(429);
    await hit(small.app, '/login', '203.0.113.11');
    expect((await hit(small.app, '/login', '203.0.113.10')).statusCode).toBe(429); // still remembered
    await hit(small.app, '/login', '203.0.113.12');
    await hit(small.app, '/login', '203.0.113.13');
    // .10 was evicted: it starts over (the price of bounded memory).
    expect((await hit(small.app, '/login', '203.0.113.10')).statusCode).toBe(200);
    await small.app.close();
  });
});

describe('rate-limit plugin in the cloud app', () => {
  const clock = manualClock();
  let testApp: Awaited<ReturnType<typeof createTestApp>>;

  beforeAll(async () => {
    // The app registers the plugin itself (budgets from AUTH_RATE_LIMIT_*);
    // a test route opts into its default budget.
    testApp = await createTestApp({
      now: clock.now,
      env: { TRUST_PROXY: TRUSTED_PROXY, AUTH_RATE_LIMIT_MAX: '1', AUTH_RATE_LIMIT_WINDOW_SECONDS: '60' },
      beforeReady: (app) => {
        app.post('/test/limited', { config: rateLimited() }, async () => ({ ok: true }));
      },
    });
  });

  afterAll(async () => {
    await testApp?.close();
  });

  it('answers through the app error handler with the request id and Retry-After', async () => {
    const { app, logs } = testApp;
    expect((await hit(app, '/test/limited', '203.0.113.20')).statusCode).toBe(200);
    clock.advanceSeconds(15);
    const refused = await hit(app, '/test/limited', '::ffff:203.0.113.20');
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['retry-after']).toBe('45');
    const envelope = ErrorEnvelope.parse(refused.json());
    expect(envelope.error).toMatchObject({
      code: 'RATE_LIMITED',
      requestId: refused.headers['x-request-id'],
    });
    expect(logs.lines.some((line) => line.errorCode === 'RATE_LIMITED')).toBe(true);
    // Through the configured proxy, the forwarded client is counted, not the proxy…
    const proxied = await hit(app, '/test/limited', TRUSTED_PROXY, { 'x-forwarded-for': '198.51.100.20' });
    expect(proxied.statusCode).toBe(200);
    // …and a client that is not the proxy cannot borrow another address.
    const spoofed = await hit(app, '/test/limited', '203.0.113.20', { 'x-forwarded-for': '198.51.100.21' });
    expect(spoofed.statusCode).toBe(429);
  });
});
