import { randomUUID } from 'node:crypto';
import { GATEWAY_METHODS } from '@multiclaw/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../../test/support/gateway.js';
import { connectControlClient, connectParams, openControlSocket } from '../../test/support/ws-client.js';
import { AuthFailureLimiter } from '../api/auth-failure-limiter.js';

// Written out here, not read from the code: the one route the extension token opens.
const APPEND_ROUTE = '/v1/extension/recordings/:recordingId/steps';
const EXTENSION = `chrome-extension://${'abcdefghijklmnop'.repeat(2)}`;
const OTHER_EXTENSION = `chrome-extension://${'ponmlkjihgfedcba'.repeat(2)}`;

const step = (seq: number) => ({
  kind: 'click' as const,
  seq,
  at: 1_700_000_000_000 + seq,
  tabId: 1,
  url: 'http://127.0.0.1/page',
  selector: '#go',
  role: 'button',
  text: 'Go',
});

let gw: TestGateway;
beforeEach(async () => {
  // A budget no test here spends: each refusal below is the token's, not the guessing throttle's.
  gw = await startTestGateway({ limiter: new AuthFailureLimiter(1_000_000) });
});
afterEach(async () => {
  await gw.close();
});

async function pair(origin = EXTENSION) {
  const { code } = gw.gateway.extension.issueCode();
  const response = await gw.gateway.app.inject({
    method: 'POST',
    url: '/v1/extension/pair',
    headers: { host: `127.0.0.1:${gw.port}`, origin },
    payload: { code },
  });
  expect(response.statusCode, response.body).toBe(200);
  return response.json() as { token: string; pairingId: string; scope: string };
}

function append(
  token: string | undefined,
  options: { origin?: string; recordingId?: string; seq?: number } = {},
) {
  return gw.gateway.app.inject({
    method: 'POST',
    url: `/v1/extension/recordings/${options.recordingId ?? randomUUID()}/steps`,
    headers: {
      host: `127.0.0.1:${gw.port}`,
      ...(options.origin === undefined
        ? { origin: EXTENSION }
        : options.origin
          ? { origin: options.origin }
          : {}),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    payload: { startedAt: 1_700_000_000_000, steps: [step(options.seq ?? 1)] },
  });
}

describe('pairing', () => {
  it('exchanges a code once for a recordings:write token and allows exactly that extension origin', async () => {
    const { token, scope } = await pair();
    expect(scope).toBe('recordings:write');
    expect(token).toMatch(/^mcx_[A-Za-z0-9_-]{43}$/);
    expect((await gw.gateway.config.current()).gateway.allowedOrigins).toEqual([EXTENSION]);
    // The token itself is stored nowhere, only its hash.
    const { readFile } = await import('node:fs/promises');
    const file = await readFile(`${gw.stateDir}/store/extension/pairings.log`, 'utf8');
    expect(file).not.toContain(token);
    expect(file).toContain(EXTENSION);
  });

  it('refuses a used, a wrong or a made-up code, and a pairing from a web page or without an Origin', async () => {
    const { code } = gw.gateway.extension.issueCode();
    const post = (origin: string | undefined, body: unknown) =>
      gw.gateway.app.inject({
        method: 'POST',
        url: '/v1/extension/pair',
        headers: { host: `127.0.0.1:${gw.port}`, ...(origin ? { origin } : {}) },
        payload: body as object,
      });
    const fromPage = await post('http://127.0.0.1:8000', { code });
    expect([fromPage.statusCode, fromPage.json().error.code]).toEqual([403, 'EXTENSION_ORIGIN_REQUIRED']);
    const noOrigin = await post(undefined, { code });
    expect([noOrigin.statusCode, noOrigin.json().error.code]).toEqual([403, 'EXTENSION_ORIGIN_REQUIRED']);
    const lookalike = await post(`chrome-extension://${'q'.repeat(32)}`, { code });
    expect(lookalike.statusCode).toBe(403);
    // The code survived the refused attempts above (they never reached it) and works once.
    expect((await post(EXTENSION, { code: code.toLowerCase() })).statusCode).toBe(200);
    const used = await post(EXTENSION, { code });
    expect([used.statusCode, used.json().error.code]).toEqual([400, 'EXTENSION_PAIRING_CODE_INVALID']);
    expect((await post(EXTENSION, { code: 'ABCD-EFGH' })).statusCode).toBe(400);
  });

  it('prints the code alone on a line from the CLI (the same method the desktop calls)', async () => {
    const { runCli } = await import('../cli/main.js');
    // The CLI finds the gateway where its config says (the test gateway took a free port).
    await gw.gateway.config.update((config) => ({
      ...config,
      gateway: { ...config.gateway, port: gw.port },
    }));
    let out = '';
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => {
      out += chunk;
      return true;
    }) as typeof process.stdout.write;
    const stderr = process.stderr.write.bind(process.stderr);
    process.stderr.write = (() => true) as typeof process.stderr.write;
    let code: number;
    try {
      code = await runCli(['extension', 'pair'], { OPENCLAW_STATE_DIR: gw.stateDir, HOME: gw.stateDir });
    } finally {
      process.stdout.write = write;
      process.stderr.write = stderr;
    }
    expect(code).toBe(0);
    const printed = out.split('\n').filter(Boolean);
    expect(printed).toHaveLength(1);
    expect(printed[0]).toMatch(/^[A-Z0-9-]{6,12}$/);
    const response = await gw.gateway.app.inject({
      method: 'POST',
      url: '/v1/extension/pair',
      headers: { host: `127.0.0.1:${gw.port}`, origin: EXTENSION },
      payload: { code: printed[0] },
    });
    expect(response.statusCode).toBe(200);
  });
});

describe('the extension token', () => {
  it('appends to a recording, and a resent batch is stored once', async () => {
    const { token, pairingId } = await pair();
    const recordingId = randomUUID();
    const first = await append(token, { recordingId });
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json()).toEqual({ recordingId, lastSeq: 1, stored: 1 });
    expect((await append(token, { recordingId })).json()).toEqual({ recordingId, lastSeq: 1, stored: 0 });
    const [listed] = gw.gateway.recordings.list();
    expect(listed).toMatchObject({ id: recordingId, stepCount: 1, pairingId });
  });

  it('is refused by every other HTTP route the gateway registers', async () => {
    const { token } = await pair();
    const routes = gw.gateway.routes();
    // Not hollow: the walk covers the routes we know exist.
    const urls = routes.map((route) => route.url);
    for (const known of [
      '/v1/gateway/status',
      '/v1/chat/completions',
      '/v1/models',
      '/healthz',
      APPEND_ROUTE,
    ])
      expect(urls).toContain(known);
    const others = routes.filter((route) => route.url !== APPEND_ROUTE);
    expect(others.length).toBeGreaterThanOrEqual(6);
    for (const route of others) {
      for (const origin of [EXTENSION, '']) {
        const response = await gw.gateway.app.inject({
          method: route.method as 'GET',
          url: route.url.replace(/:[A-Za-z]+/g, 'main'),
          headers: {
            host: `127.0.0.1:${gw.port}`,
            authorization: `Bearer ${token}`,
            'content-type': 'application/json',
            ...(origin ? { origin } : {}),
          },
          ...(route.method === 'GET' || route.method === 'HEAD' ? {} : { payload: '{}' }),
        });
        const label = `${route.method} ${route.url} from ${origin || 'no origin'}`;
        if (route.public && route.url === '/healthz') {
          // Needs no token at all: the token adds nothing, and it is all a probe answers.
          expect(response.statusCode, label).toBe(200);
          continue;
        }
        expect(response.statusCode, label).toBeGreaterThanOrEqual(400);
        expect(response.statusCode, label).not.toBe(404);
        // HEAD answers carry no body; the pairing route needs a code, which the token is not.
        if (route.method !== 'HEAD' && route.extension !== 'pairing-code')
          expect(['UNAUTHENTICATED', 'invalid_api_key'], label).toContain(response.json().error.code);
      }
    }
    // The append route itself takes no gateway token either.
    const withGatewayToken = await append(gw.token);
    expect([withGatewayToken.statusCode, withGatewayToken.json().error.code]).toEqual([
      401,
      'EXTENSION_TOKEN_INVALID',
    ]);
  });

  it('is refused by every WebSocket method, and the extension origin cannot open the control protocol', async () => {
    const { token } = await pair();
    expect(GATEWAY_METHODS.length).toBeGreaterThan(20);
    for (const method of GATEWAY_METHODS) {
      const client = await openControlSocket(gw.url);
      const hello = await client.request('connect', connectParams(token));
      expect(hello.ok, method).toBe(false);
      client.sendRaw(JSON.stringify({ type: 'req', id: 'x', method, params: {} }));
      const closed = await client.closed;
      expect(closed.code, method).toBe(1008);
    }
    // Even the gateway token does not open the control protocol from the extension's origin.
    await expect(connectControlClient(gw.url, gw.token, { origin: EXTENSION })).rejects.toThrow(/HTTP 403/);
    // Nothing ran: no recording was touched, no code issued to the extension, no agent made.
    expect(gw.gateway.recordings.list()).toEqual([]);
  });

  it('is refused from another extension, without a token, and at once after unpair (CLI method)', async () => {
    const { token, pairingId } = await pair();
    expect((await append(token)).statusCode).toBe(200);
    expect((await append(token, { origin: OTHER_EXTENSION })).statusCode).toBe(401);
    expect((await append(token, { origin: '' })).statusCode).toBe(403);
    expect((await append(undefined)).statusCode).toBe(401);

    const { client } = await connectControlClient(gw.url, gw.token, undefined, {
      scopes: ['operator.pairing'],
    });
    const unpaired = await client.request('multiclaw.extension.unpair', { id: pairingId });
    expect(unpaired.ok && unpaired.payload).toEqual({ ok: true, revoked: true });
    client.close();

    const after = await append(token);
    expect([after.statusCode, after.json().error.code]).toEqual([401, 'EXTENSION_TOKEN_INVALID']);
    expect((await gw.gateway.config.current()).gateway.allowedOrigins).not.toContain(EXTENSION);
  });

  it('is refused at once after `multiclaw-gateway extension unpair` (every pairing when no id is given)', async () => {
    const { token } = await pair();
    await gw.gateway.config.update((config) => ({
      ...config,
      gateway: { ...config.gateway, port: gw.port },
    }));
    const { runCli } = await import('../cli/main.js');
    const env = { OPENCLAW_STATE_DIR: gw.stateDir, HOME: gw.stateDir };
    const quiet = async (args: string[]) => {
      let out = '';
      const write = process.stdout.write.bind(process.stdout);
      process.stdout.write = ((chunk: string) => {
        out += chunk;
        return true;
      }) as typeof process.stdout.write;
      try {
        return { code: await runCli(args, env), out };
      } finally {
        process.stdout.write = write;
      }
    };
    const listed = await quiet(['extension', 'list', '--json']);
    expect(JSON.parse(listed.out).items).toMatchObject([{ origin: EXTENSION }]);
    expect((await append(token)).statusCode).toBe(200);
    expect((await quiet(['extension', 'unpair'])).code).toBe(0);
    expect((await append(token)).statusCode).toBe(401);
    expect(JSON.parse((await quiet(['extension', 'list', '--json'])).out).items).toEqual([]);
  });

  it('a pairing does not reach another pairing’s recording', async () => {
    const first = await pair();
    const second = await pair(OTHER_EXTENSION);
    const recordingId = randomUUID();
    expect((await append(first.token, { recordingId })).statusCode).toBe(200);
    const foreign = await append(second.token, { recordingId, origin: OTHER_EXTENSION, seq: 2 });
    expect(foreign.statusCode).toBe(404);
    expect(gw.gateway.recordings.list()[0]?.stepCount).toBe(1);
  });
});
