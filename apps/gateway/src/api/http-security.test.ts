import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { connect as netConnect } from 'node:net';
import { ErrorEnvelope } from '@multiclaw/protocol';
import { manualClock } from '@multiclaw/test-support/clock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { newDevice, signConnect } from '../../test/support/device.js';
import { startTestGateway, type TestGateway } from '../../test/support/gateway.js';
import { connectControlClient, connectParams, openControlSocket } from '../../test/support/ws-client.js';
import { generateGatewayToken } from '../config/schema.js';
import { AuthFailureLimiter } from './auth-failure-limiter.js';

/**
 * The guard in front of every HTTP request and WebSocket upgrade, over real
 * sockets: Host allowlist (DNS rebinding), Origin allowlist (cross-site
 * WebSocket hijacking), the bearer token (never from the URL) and the
 * per-client limit on failed authentications.
 */

const ALLOWED_ORIGIN = 'http://127.0.0.1:1420';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP request with exactly the Host and Origin given (`host: undefined` is not allowed here: see rawHttp10). */
function httpRequest(options: {
  address: string;
  port: number;
  path: string;
  method?: string;
  headers: Record<string, string | undefined>;
  /** The source address to connect from (any 127.x.y.z works on Linux loopback). */
  localAddress?: string;
}): Promise<Reply> {
  const headers = Object.fromEntries(
    Object.entries(options.headers).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: options.address,
        port: options.port,
        ...(options.localAddress ? { localAddress: options.localAddress } : {}),
        path: options.path,
        method: options.method ?? 'GET',
        headers,
        setHost: false,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** A request with no Host header at all: only HTTP/1.0 allows that, so it is written by hand. */
function rawHttp(
  address: string,
  port: number,
  text: string,
): Promise<{ status: number; body: string; raw: string }> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: address, port });
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(raw)?.[1] ?? 0);
      resolve({ status, body: raw.slice(raw.indexOf('\r\n\r\n') + 4), raw });
      socket.destroy();
    });
    socket.write(text);
  });
}

/** A raw WebSocket upgrade: resolves with 101 when the gateway switched protocols, or the refusal. */
function upgrade(options: {
  address: string;
  port: number;
  path?: string;
  headers: Record<string, string | undefined>;
}): Promise<Reply> {
  const headers = Object.fromEntries(
    Object.entries({
      ...options.headers,
      connection: 'Upgrade',
      upgrade: 'websocket',
      'sec-websocket-version': '13',
      'sec-websocket-key': randomBytes(16).toString('base64'),
    }).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
  return new Promise((resolve, reject) => {
    const req = request({
      host: options.address,
      port: options.port,
      path: options.path ?? '/',
      headers,
      setHost: false,
      agent: false,
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: '' });
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * Status and error code of a reply; checks that every error is the one
 * envelope, or OpenAI's shape (with the same stable code) on the
 * OpenAI-compatible routes such as /v1/models.
 */
function outcome(reply: { status: number; body: string }): string {
  if (reply.status < 400) return String(reply.status);
  expect(reply.body).not.toMatch(/\bat .+\.(ts|js):\d+/);
  const body = JSON.parse(reply.body) as { error?: { type?: unknown } };
  if (typeof body.error?.type === 'string') {
    const openai = OpenAIError.parse(body);
    expect(openai.error.message.length).toBeGreaterThan(0);
    return `${reply.status} ${openai.error.code}`;
  }
  const envelope = ErrorEnvelope.parse(body);
  expect(envelope.error.message.length).toBeGreaterThan(0);
  expect(envelope.error.requestId.length).toBeGreaterThan(0);
  return `${reply.status} ${envelope.error.code}`;
}

/**
 * A `connect` over the control socket with this token: what the gateway
 * answered (OpenClaw's code / our detail code) and how it closed, or `ok`.
 */
async function wsConnect(
  url: string,
  token: string | undefined,
): Promise<{ answer: string; error?: Record<string, unknown>; close?: number }> {
  const socket = await openControlSocket(url);
  const params = connectParams(token ?? '');
  const { auth: _auth, ...withoutToken } = params;
  const reply = await socket.request('connect', token === undefined ? withoutToken : params);
  if (reply.ok) {
    socket.close();
    return { answer: 'ok' };
  }
  const { code } = await socket.closed;
  return {
    answer: `${reply.error.code} ${reply.error.details?.code}`,
    error: reply.error,
    close: code,
  };
}

const OpenAIError = z.object({
  error: z.object({ message: z.string(), type: z.string(), param: z.string().nullable(), code: z.string() }),
});

const hostCases = (port: number) =>
  [
    { label: '127.0.0.1:port', host: `127.0.0.1:${port}`, ok: true },
    { label: 'localhost:port', host: `localhost:${port}`, ok: true },
    { label: 'LOCALHOST:port', host: `LOCALHOST:${port}`, ok: true },
    { label: '[::1]:port', host: `[::1]:${port}`, ok: true },
    { label: 'evil.example', host: 'evil.example', ok: false },
    { label: 'evil.example:port', host: `evil.example:${port}`, ok: false },
    { label: '127.0.0.1:otherport', host: `127.0.0.1:${port === 65_535 ? 1 : port + 1}`, ok: false },
    { label: '127.0.0.1 (no port)', host: '127.0.0.1', ok: false },
  ] as const;

const originCases = (port: number) =>
  [
    { label: 'no Origin', origin: undefined, ok: true },
    { label: 'allowed Origin', origin: ALLOWED_ORIGIN, ok: true },
    { label: 'http://evil.example', origin: 'http://evil.example', ok: false },
    { label: "'null'", origin: 'null', ok: false },
    { label: 'the gateway itself', origin: `http://127.0.0.1:${port}`, ok: false },
  ] as const;

function tokenCases(token: string) {
  const wrong = generateGatewayToken();
  return [
    { label: 'right token', authorization: `Bearer ${token}`, query: '', ok: true },
    { label: 'wrong token', authorization: `Bearer ${wrong}`, query: '', ok: false },
    { label: 'no token', authorization: undefined, query: '', ok: false },
    { label: '?token= only', authorization: undefined, query: `?token=${token}`, ok: false },
    { label: '?access_token= only', authorization: undefined, query: `?access_token=${token}`, ok: false },
  ] as const;
}

function expectedOutcome(host: { ok: boolean }, origin: { ok: boolean }, token: { ok: boolean }): string {
  if (!host.ok) return '403 GATEWAY_HOST_NOT_ALLOWED';
  if (!origin.ok) return '403 GATEWAY_ORIGIN_NOT_ALLOWED';
  if (!token.ok) return '401 UNAUTHENTICATED';
  return '200';
}

describe('the Host / Origin / token matrix', () => {
  let test: TestGateway;
  beforeAll(async () => {
    test = await startTestGateway({
      configure: (config) => ({
        ...config,
        gateway: { ...config.gateway, allowedOrigins: [ALLOWED_ORIGIN] },
      }),
      // Hundreds of failures on purpose: the limiter is tested on its own below.
      limiter: new AuthFailureLimiter(Number.MAX_SAFE_INTEGER),
    });
  });
  afterAll(() => test.close());

  describe.each(['127.0.0.1', '::1'])('HTTP over %s', (address) => {
    it('answers every combination with the code the precedence Host, then Origin, then token gives', async (ctx) => {
      if (!test.gateway.addresses.includes(address)) return ctx.skip();
      const actual: string[] = [];
      const expected: string[] = [];
      for (const host of hostCases(test.port)) {
        for (const origin of originCases(test.port)) {
          for (const token of tokenCases(test.token)) {
            const reply = await httpRequest({
              address,
              port: test.port,
              path: `/v1/models${token.query}`,
              headers: { host: host.host, origin: origin.origin, authorization: token.authorization },
            });
            const label = `${host.label} / ${origin.label} / ${token.label}`;
            actual.push(`${label} → ${outcome(reply)}`);
            expected.push(`${label} → ${expectedOutcome(host, origin, token)}`);
            if (reply.status === 200)
              expect(JSON.parse(reply.body)).toMatchObject({ object: 'list', data: [] });
          }
        }
      }
      expect(actual).toEqual(expected);
      expect(actual).toHaveLength(8 * 5 * 5);
    });

    it('refuses a request without any Host header (HTTP/1.0) with 403, token or not', async (ctx) => {
      if (!test.gateway.addresses.includes(address)) return ctx.skip();
      for (const origin of originCases(test.port)) {
        for (const token of tokenCases(test.token)) {
          const reply = await rawHttp(
            address,
            test.port,
            `GET /v1/models${token.query} HTTP/1.0\r\n` +
              (token.authorization ? `Authorization: ${token.authorization}\r\n` : '') +
              (origin.origin ? `Origin: ${origin.origin}\r\n` : '') +
              '\r\n',
          );
          expect(outcome(reply), `${origin.label} / ${token.label}`).toBe('403 GATEWAY_HOST_NOT_ALLOWED');
        }
      }
    });

    it('refuses an HTTP/1.1 request without a Host header and never serves it', async (ctx) => {
      if (!test.gateway.addresses.includes(address)) return ctx.skip();
      const reply = await rawHttp(
        address,
        test.port,
        `GET /v1/models HTTP/1.1\r\nAuthorization: Bearer ${test.token}\r\nConnection: close\r\n\r\n`,
      );
      expect(reply.status).toBeGreaterThanOrEqual(400);
      expect(reply.status).toBeLessThan(500);
      expect(reply.body).not.toContain('"object"');
    });

    it('applies the same Host / Origin matrix to the WebSocket upgrade: a refusal is HTTP 403, never 101', async (ctx) => {
      if (!test.gateway.addresses.includes(address)) return ctx.skip();
      const actual: string[] = [];
      const expected: string[] = [];
      for (const host of hostCases(test.port)) {
        for (const origin of originCases(test.port)) {
          const reply = await upgrade({
            address,
            port: test.port,
            headers: { host: host.host, origin: origin.origin },
          });
          const label = `${host.label} / ${origin.label}`;
          actual.push(`${label} → ${outcome(reply)}`);
          // The token is checked later, in the connect frame, so a passing upgrade is 101.
          const result = expectedOutcome(host, origin, { ok: true });
          expected.push(`${label} → ${result === '200' ? '101' : result}`);
        }
      }
      expect(actual).toEqual(expected);
    });

    it('never upgrades a request without a Host header', async (ctx) => {
      if (!test.gateway.addresses.includes(address)) return ctx.skip();
      const key = randomBytes(16).toString('base64');
      for (const version of ['1.0', '1.1']) {
        const reply = await rawHttp(
          address,
          test.port,
          `GET / HTTP/${version}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
            `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${key}\r\n\r\n`,
        );
        expect(reply.status, `HTTP/${version}`).not.toBe(101);
        expect(reply.status, `HTTP/${version}`).toBeGreaterThanOrEqual(400);
        expect(reply.status, `HTTP/${version}`).toBeLessThan(500);
      }
    });
  });

  it('never fires "open" on a ws client whose upgrade was refused', async () => {
    const refusals: Record<string, string>[] = [
      { host: 'evil.example' },
      { origin: 'http://evil.example' },
      { origin: 'null' },
    ];
    for (const headers of refusals) {
      const refused = openControlSocket(test.url, { headers });
      await expect(refused, JSON.stringify(headers)).rejects.toThrow('upgrade refused: HTTP 403');
    }
  });

  it('lets an allowed browser origin complete the handshake with a device identity of its own', async () => {
    const client = await openControlSocket(test.url, { headers: { origin: ALLOWED_ORIGIN } });
    const params = connectParams(test.token);
    const hello = await client.request('connect', {
      ...params,
      device: signConnect(newDevice(), params, client.nonce),
    });
    expect(hello.ok ? hello.payload : hello.error).toMatchObject({ type: 'hello-ok' });
    expect((await client.request('health')).ok).toBe(true);
    client.close();
  });

  it('serves /healthz without a token, but still checks Host and Origin', async () => {
    const get = (headers: Record<string, string | undefined>) =>
      httpRequest({ address: '127.0.0.1', port: test.port, path: '/healthz', headers });
    const ok = await get({ host: `127.0.0.1:${test.port}` });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toEqual({ status: 'ok' });
    expect(outcome(await get({ host: `localhost:${test.port}`, origin: ALLOWED_ORIGIN }))).toBe('200');
    expect(outcome(await get({ host: 'evil.example' }))).toBe('403 GATEWAY_HOST_NOT_ALLOWED');
    expect(
      outcome(await get({ host: `evil.example:${test.port}`, authorization: `Bearer ${test.token}` })),
    ).toBe('403 GATEWAY_HOST_NOT_ALLOWED');
    expect(outcome(await get({ host: `127.0.0.1:${test.port}`, origin: 'http://evil.example' }))).toBe(
      '403 GATEWAY_ORIGIN_NOT_ALLOWED',
    );
    expect(outcome(await rawHttp('127.0.0.1', test.port, 'GET /healthz HTTP/1.0\r\n\r\n'))).toBe(
      '403 GATEWAY_HOST_NOT_ALLOWED',
    );
  });

  it('checks Host, Origin and token before routing: unknown routes leak nothing', async () => {
    const get = (headers: Record<string, string | undefined>) =>
      httpRequest({ address: '127.0.0.1', port: test.port, path: '/no/such/route', headers });
    const host = `127.0.0.1:${test.port}`;
    expect(outcome(await get({ host: 'evil.example' }))).toBe('403 GATEWAY_HOST_NOT_ALLOWED');
    expect(outcome(await get({ host, origin: 'http://evil.example' }))).toBe(
      '403 GATEWAY_ORIGIN_NOT_ALLOWED',
    );
    expect(outcome(await get({ host }))).toBe('401 UNAUTHENTICATED');
    expect(outcome(await get({ host, authorization: `Bearer ${test.token}` }))).toBe('404 NOT_FOUND');
    // The upgrade path is guarded the same way before its route check.
    expect(
      outcome(
        await upgrade({
          address: '127.0.0.1',
          port: test.port,
          path: '/x',
          headers: { host: 'evil.example' },
        }),
      ),
    ).toBe('403 GATEWAY_HOST_NOT_ALLOWED');
  });

  it('answers a CORS preflight from another origin with 403 and no CORS grant', async () => {
    const reply = await httpRequest({
      address: '127.0.0.1',
      port: test.port,
      path: '/v1/models',
      method: 'OPTIONS',
      headers: {
        host: `127.0.0.1:${test.port}`,
        origin: 'http://evil.example',
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'authorization',
      },
    });
    expect(outcome(reply)).toBe('403 GATEWAY_ORIGIN_NOT_ALLOWED');
    expect(reply.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('never takes the WebSocket token from the URL either', async () => {
    const url = `${test.url}/?token=${test.token}&access_token=${test.token}`;
    // A connect without a token of its own is refused as tokenless, whatever the URL carries.
    expect(await wsConnect(url, undefined)).toMatchObject({
      answer: 'INVALID_REQUEST AUTH_TOKEN_MISSING',
      close: 1008,
    });
    expect(await wsConnect(url, test.token)).toEqual({ answer: 'ok' });
  });
});

describe('rate-limited authentication failures: guessing is throttled, the token holder never locked out', () => {
  let cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    cleanups = [];
  });

  const WINDOW_MS = 60_000;

  /** A gateway whose limiter runs on a clock the test moves; records the budget key of every failure. */
  async function setup(options: { bind?: string } = {}) {
    const clock = manualClock(1_700_000_000_000);
    const failures: string[] = [];
    class RecordingLimiter extends AuthFailureLimiter {
      override recordFailure(key: string): void {
        failures.push(key);
        super.recordFailure(key);
      }
    }
    const limiter = new RecordingLimiter(10, WINDOW_MS, clock.nowMs);
    const test = await startTestGateway({
      limiter,
      ...(options.bind
        ? {
            configure: (config) => ({
              ...config,
              gateway: { ...config.gateway, bind: options.bind as string },
            }),
          }
        : {}),
    });
    cleanups.push(() => test.close());
    const get = (address: string, token: string | undefined, localAddress?: string) =>
      httpRequest({
        address,
        port: test.port,
        // Not an OpenAI-compatible route: those answer in OpenAI's error shape.
        path: '/v1/gateway/status',
        headers: {
          host: `127.0.0.1:${test.port}`,
          authorization: token === undefined ? undefined : `Bearer ${token}`,
        },
        ...(localAddress ? { localAddress } : {}),
      });
    const wrong = generateGatewayToken();
    return {
      test,
      limiter,
      failures,
      get,
      wrong,
      advanceMs: clock.advanceMs,
    };
  }

  it('after 10 wrong tokens, wrong ones get 429 with Retry-After while the right token keeps working on HTTP and WebSocket', async () => {
    const { test, get, wrong } = await setup();
    for (let i = 0; i < 10; i += 1)
      expect(outcome(await get('127.0.0.1', wrong))).toBe('401 UNAUTHENTICATED');
    const throttled = await get('127.0.0.1', wrong);
    expect(outcome(throttled)).toBe('429 RATE_LIMITED');
    expect(throttled.headers['retry-after']).toBe('60');
    expect(outcome(await get('127.0.0.1', test.token))).toBe('200');
    const { client } = await connectControlClient(test.url, test.token);
    expect((await client.request('health')).ok).toBe(true);
    client.close();
    // A wrong token over WebSocket is throttled too, with the same budget, in OpenClaw's terms.
    const throttledWs = await wsConnect(test.url, wrong);
    expect(throttledWs).toMatchObject({ answer: 'INVALID_REQUEST AUTH_RATE_LIMITED', close: 1008 });
    expect(throttledWs.error).toMatchObject({ retryable: true, retryAfterMs: 60_000 });
    expect(await wsConnect(test.url, test.token)).toEqual({ answer: 'ok' });
  });

  it('refuses requests with no credential (401) without counting them: 50 of them, then a wrong token is still a plain 401', async () => {
    const { test, get, wrong, failures } = await setup();
    for (let i = 0; i < 50; i += 1)
      expect(outcome(await get('127.0.0.1', undefined))).toBe('401 UNAUTHENTICATED');
    expect(failures).toEqual([]);
    expect(outcome(await get('127.0.0.1', wrong))).toBe('401 UNAUTHENTICATED');
    expect(outcome(await get('127.0.0.1', test.token))).toBe('200');
  });

  it('keeps one budget for all of loopback: rotating the source address through 127.0.0.0/8 does not multiply it', async () => {
    const { test, get, wrong, failures } = await setup();
    const sources = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.1.2.3', '127.200.0.9'];
    const outcomes: string[] = [];
    for (let i = 0; i < 15; i += 1)
      outcomes.push(outcome(await get('127.0.0.1', wrong, sources[i % sources.length])));
    expect(outcomes.slice(0, 10)).toEqual(Array(10).fill('401 UNAUTHENTICATED'));
    expect(outcomes.slice(10)).toEqual(Array(5).fill('429 RATE_LIMITED'));
    expect(new Set(failures)).toEqual(new Set(['loopback']));
    for (const source of sources) expect(outcome(await get('127.0.0.1', test.token, source))).toBe('200');
  });

  it('still checks Host and Origin first', async () => {
    const { test, get, wrong } = await setup();
    for (let i = 0; i < 10; i += 1) await get('127.0.0.1', wrong);
    const evil = await httpRequest({
      address: '127.0.0.1',
      port: test.port,
      path: '/v1/gateway/status',
      headers: { host: 'evil.example', authorization: `Bearer ${test.token}` },
    });
    expect(outcome(evil)).toBe('403 GATEWAY_HOST_NOT_ALLOWED');
  });

  it('counts ::1 and 127.0.0.1 in the one loopback budget', async (ctx) => {
    const { test, get, wrong, failures } = await setup();
    if (!test.gateway.addresses.includes('::1')) return ctx.skip();
    for (let i = 0; i < 10; i += 1) await get('127.0.0.1', wrong);
    expect(outcome(await get('::1', wrong))).toBe('429 RATE_LIMITED');
    expect(outcome(await get('::1', test.token))).toBe('200');
    expect(new Set(failures)).toEqual(new Set(['loopback']));
  });

  it('counts an IPv4-mapped peer (::ffff:127.0.0.1) as loopback', async () => {
    // Listening on the IPv4-mapped address makes the kernel report peers as ::ffff:127.0.0.1.
    const { test, get, wrong, failures, limiter } = await setup({ bind: '::ffff:127.0.0.1' });
    expect(test.gateway.addresses).toEqual(['::ffff:127.0.0.1']);
    for (let i = 0; i < 10; i += 1) await get('127.0.0.1', wrong);
    expect(failures).toEqual(Array.from({ length: 10 }, () => 'loopback'));
    expect(limiter.refusal('loopback')?.code).toBe('RATE_LIMITED');
    expect(outcome(await get('127.0.0.1', test.token))).toBe('200');
  });

  it('lets wrong tokens be answered 401 again once the window has passed', async () => {
    const { get, wrong, advanceMs } = await setup();
    for (let i = 0; i < 10; i += 1) await get('127.0.0.1', wrong);
    advanceMs(WINDOW_MS - 1_000);
    const throttled = await get('127.0.0.1', wrong);
    expect(outcome(throttled)).toBe('429 RATE_LIMITED');
    expect(throttled.headers['retry-after']).toBe('1');
    advanceMs(1_000);
    expect(outcome(await get('127.0.0.1', wrong))).toBe('401 UNAUTHENTICATED');
  });

  it('counts failed WebSocket connects in the same budget as HTTP; the right token still connects', async () => {
    const { test, get, wrong, failures } = await setup();
    for (let i = 0; i < 5; i += 1) expect(outcome(await get('127.0.0.1', wrong))).toBe('401 UNAUTHENTICATED');
    for (let i = 0; i < 5; i += 1)
      expect(await wsConnect(test.url, wrong)).toMatchObject({
        answer: 'INVALID_REQUEST AUTH_TOKEN_MISMATCH',
        close: 1008,
      });
    expect(failures).toHaveLength(10);
    expect(outcome(await get('127.0.0.1', wrong))).toBe('429 RATE_LIMITED');
    const { client } = await connectControlClient(test.url, test.token);
    expect((await client.request('health')).ok).toBe(true);
    client.close();
  });
});

describe('token rotation', () => {
  let test: TestGateway;
  afterEach(() => test.close());

  const get = (token: string) =>
    httpRequest({
      address: '127.0.0.1',
      port: test.port,
      path: '/v1/models',
      headers: { host: `127.0.0.1:${test.port}`, authorization: `Bearer ${token}` },
    });

  async function expectRotated(oldToken: string, newToken: string) {
    expect(outcome(await get(oldToken))).toBe('401 UNAUTHENTICATED');
    expect(outcome(await get(newToken))).toBe('200');
    expect(await wsConnect(test.url, oldToken)).toMatchObject({
      answer: 'INVALID_REQUEST AUTH_TOKEN_MISMATCH',
      close: 1008,
    });
    expect(await wsConnect(test.url, newToken)).toEqual({ answer: 'ok' });
  }

  it('refuses the old token at once after ConfigFile.update rotates it', async () => {
    test = await startTestGateway();
    expect(outcome(await get(test.token))).toBe('200');
    const rotated = generateGatewayToken();
    await test.gateway.config.update((config) => ({
      ...config,
      gateway: { ...config.gateway, auth: { ...config.gateway.auth, token: rotated } },
    }));
    await expectRotated(test.token, rotated);
  });

  it('refuses the old token at once after another process rewrote the config file', async () => {
    test = await startTestGateway();
    expect(outcome(await get(test.token))).toBe('200');
    const path = test.gateway.config.paths.configPath;
    const onDisk = JSON.parse(await readFile(path, 'utf8')) as { gateway: { auth: { token: string } } };
    const rotated = generateGatewayToken();
    onDisk.gateway.auth.token = rotated;
    await writeFile(path, `${JSON.stringify(onDisk, null, 2)}\n`, { mode: 0o600 });
    await expectRotated(test.token, rotated);
  });

  it('closes an open WebSocket session at its next tick once its token was rotated, and keeps the others', async () => {
    test = await startTestGateway({ tickIntervalMs: 50 });
    const { client: rotatedAway } = await connectControlClient(test.url, test.token);
    // Ticks keep flowing while the token is unchanged.
    await rotatedAway.nextEvent((event) => event.event === 'tick');
    const rotated = generateGatewayToken();
    await test.gateway.config.update((config) => ({
      ...config,
      gateway: { ...config.gateway, auth: { ...config.gateway.auth, token: rotated } },
    }));
    const { client: current } = await connectControlClient(test.url, rotated);
    expect(await rotatedAway.closed).toEqual({ code: 4001, reason: 'gateway token rotated' });
    const ticksBefore = current.events.filter((event) => event.event === 'tick').length;
    await current.nextEvent(
      (event) =>
        event.event === 'tick' && current.events.filter((e) => e.event === 'tick').length > ticksBefore,
    );
    expect(current.ws.readyState).toBe(current.ws.OPEN);
    current.close();
  });
});
