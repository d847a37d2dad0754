import type { webcrypto } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { CHROMIUM, chromiumMissing, launchChromium, startPageServer } from '@multiclaw/test-support/browser';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../../test/support/gateway.js';

/**
 * Cross-site WebSocket hijacking and cross-origin requests, with a real
 * browser: a page served from another origin (another port on 127.0.0.1)
 * tries to reach the gateway, even knowing the right token. Only the Origin
 * allowlist stands in the way, so the control case allows that origin and the
 * same page gets through — once it proves a device identity of its own (an
 * Ed25519 key made and used with the page's WebCrypto, as OpenClaw's browser
 * clients do): a page with the token alone is refused.
 */

const SKIP = chromiumMissing('cross-origin-browser.test.ts');

/** What the gateway's primary listener answered, read off the wire: status and error code per request / upgrade. */
interface Answer {
  kind: 'http' | 'upgrade';
  method: string;
  url: string;
  origin: string | undefined;
  status: number;
  code: string | undefined;
}

function codeOf(body: string): string | undefined {
  try {
    return (JSON.parse(body) as { error?: { code?: string } }).error?.code;
  } catch {
    return undefined;
  }
}

function chunkText(chunk: unknown): string {
  if (typeof chunk === 'string') return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk).toString('utf8');
  return '';
}

function watchAnswers(server: Server): Answer[] {
  const answers: Answer[] = [];
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    const end = res.end;
    res.end = function (this: ServerResponse, ...args: Parameters<typeof end>) {
      body += chunkText(args[0]);
      return end.apply(this, args);
    } as typeof end;
    res.on('finish', () =>
      answers.push({
        kind: 'http',
        method: req.method ?? '',
        url: req.url ?? '',
        origin: req.headers.origin,
        status: res.statusCode,
        code: codeOf(body),
      }),
    );
  });
  server.prependListener('upgrade', (req: IncomingMessage, socket: Duplex) => {
    let written = '';
    let recorded = false;
    const record = () => {
      if (recorded || !/^HTTP\/1\.1 \d{3}/.test(written)) return;
      recorded = true;
      answers.push({
        kind: 'upgrade',
        method: req.method ?? '',
        url: req.url ?? '',
        origin: req.headers.origin,
        status: Number(written.slice(9, 12)),
        code: codeOf(written.slice(written.indexOf('\r\n\r\n') + 4)),
      });
    };
    const write = socket.write;
    socket.write = function (this: Duplex, ...args: Parameters<typeof write>) {
      if (!recorded) written += chunkText(args[0]);
      record();
      return write.apply(this, args);
    } as typeof write;
    const end = socket.end;
    socket.end = function (this: Duplex, ...args: Parameters<typeof end>) {
      if (!recorded) written += chunkText(args[0]);
      record();
      return end.apply(this, args);
    } as typeof end;
  });
  return answers;
}

interface PageResult {
  ws: string[];
  /** The device id the page derived from its own key, when it made one. */
  deviceId: string | undefined;
  fetchWithToken: string;
  simplePost: string;
}

describe.skipIf(SKIP)(`a page on another origin, in real Chromium (${CHROMIUM})`, () => {
  let browser: Browser;
  let page: { origin: string; close(): Promise<void> };
  let cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    browser = await launchChromium();
    page = await startPageServer();
  });
  afterAll(async () => {
    await browser?.close();
    await page?.close();
  });
  afterEach(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    cleanups = [];
  });

  async function gateway(allowedOrigins: string[]): Promise<{ test: TestGateway; answers: Answer[] }> {
    const test = await startTestGateway({
      configure: (config) => ({ ...config, gateway: { ...config.gateway, allowedOrigins } }),
    });
    cleanups.push(() => test.close());
    return { test, answers: watchAnswers(test.gateway.app.server) };
  }

  /**
   * Opens the page on its own origin and runs the attack from inside it.
   * `connect`: whether the page answers the challenge, and with a device
   * identity signed in the page or with the token alone.
   */
  async function runInPage(
    test: TestGateway,
    options: { connect: 'no' | 'token' | 'device' },
  ): Promise<PageResult> {
    const context = await browser.newContext();
    cleanups.push(() => context.close());
    const tab = await context.newPage();
    await tab.goto(`${page.origin}/`);
    expect(await tab.evaluate('location.origin')).toBe(page.origin);
    return tab.evaluate(
      async ({ port, token, connect }) => {
        const base64url = (bytes: ArrayBuffer) =>
          btoa(String.fromCharCode(...new Uint8Array(bytes)))
            .replace(/\+/g, '-')
            .replace(/\//g, '_')
            .replace(/=+$/, '');
        const hex = (bytes: ArrayBuffer) =>
          [...new Uint8Array(bytes)].map((byte) => byte.toString(16).padStart(2, '0')).join('');
        // The device key lives in the page: WebCrypto's Ed25519, the public key's SHA-256 is the device id.
        const device =
          connect === 'device'
            ? await (async () => {
                const keys = (await crypto.subtle.generateKey({ name: 'Ed25519' }, false, [
                  'sign',
                  'verify',
                ])) as webcrypto.CryptoKeyPair;
                const raw = await crypto.subtle.exportKey('raw', keys.publicKey);
                return {
                  keys,
                  publicKey: base64url(raw),
                  id: hex(await crypto.subtle.digest('SHA-256', raw)),
                };
              })()
            : undefined;
        /** OpenClaw's connect, signed over the v3 payload when the page has a device key. */
        const connectParams = async (nonce: string) => {
          const client = {
            id: 'openclaw-control-ui',
            version: '0.0.0',
            platform: 'Web',
            deviceFamily: 'Browser',
            mode: 'webchat',
          };
          const role = 'operator';
          const scopes = ['operator.read', 'operator.write'];
          const params = { minProtocol: 4, maxProtocol: 4, client, role, scopes, auth: { token } };
          if (!device) return params;
          const signedAt = Date.now();
          const lower = (value: string) => value.trim().toLowerCase();
          const payload = [
            'v3',
            device.id,
            client.id,
            client.mode,
            role,
            scopes.join(','),
            String(signedAt),
            token,
            nonce,
            lower(client.platform),
            lower(client.deviceFamily),
          ].join('|');
          const signature = await crypto.subtle.sign(
            { name: 'Ed25519' },
            device.keys.privateKey,
            new TextEncoder().encode(payload),
          );
          return {
            ...params,
            device: {
              id: device.id,
              publicKey: device.publicKey,
              signature: base64url(signature),
              signedAt,
              nonce,
            },
          };
        };
        const ws = await new Promise<string[]>((resolve) => {
          const events: string[] = [];
          const socket = new WebSocket(`ws://127.0.0.1:${port}/`);
          const timer = setTimeout(() => {
            events.push('timeout');
            resolve(events);
          }, 10_000);
          socket.onopen = () => events.push('open');
          socket.onerror = () => events.push('error');
          socket.onmessage = (message) => {
            const frame = JSON.parse(String(message.data)) as {
              type: string;
              event?: string;
              payload?: { nonce?: string; type?: string };
              error?: { code: string; details?: { code?: string } };
            };
            const refusal = frame.error && `error:${frame.error.code}:${frame.error.details?.code}`;
            events.push(`message:${frame.type}:${frame.event ?? frame.payload?.type ?? refusal ?? ''}`);
            if (frame.event === 'connect.challenge' && connect !== 'no') {
              void connectParams(frame.payload?.nonce ?? '').then((params) =>
                socket.send(JSON.stringify({ type: 'req', id: 'c1', method: 'connect', params })),
              );
            } else {
              socket.close(1000);
            }
          };
          socket.onclose = (event) => {
            clearTimeout(timer);
            events.push(`close:${event.code}`);
            resolve(events);
          };
        });
        const attempt = async (run: () => Promise<Response>) => {
          try {
            const response = await run();
            return `status:${response.status}:${await response.text()}`;
          } catch (error) {
            return `rejected:${(error as Error).name}`;
          }
        };
        // Even with the right token in the header: the preflight carries the Origin and is refused.
        const fetchWithToken = await attempt(() =>
          fetch(`http://127.0.0.1:${port}/v1/models`, { headers: { authorization: `Bearer ${token}` } }),
        );
        // A "simple" cross-site request needs no preflight: the gateway itself must refuse it.
        const simplePost = await attempt(() =>
          fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
            method: 'POST',
            mode: 'no-cors',
            headers: { 'content-type': 'text/plain' },
            body: JSON.stringify({ model: 'x', messages: [{ role: 'user', content: 'hi' }] }),
          }),
        );
        return { ws, deviceId: device?.id, fetchWithToken, simplePost };
      },
      { port: test.port, token: test.token, connect: options.connect },
    );
  }

  it('cannot open a WebSocket or call the HTTP API, even with the right token: the gateway answers 403', async () => {
    const { test, answers } = await gateway([]);
    const result = await runInPage(test, { connect: 'device' });

    // The socket never opens and never sees a frame.
    expect(result.ws).not.toContain('open');
    expect(result.ws.filter((event) => event.startsWith('message:'))).toEqual([]);
    expect(result.ws).toContain('error');
    expect(result.ws.at(-1)).toBe('close:1006');
    // The preflight was refused, so the browser never sent the request with the token.
    expect(result.fetchWithToken).toBe('rejected:TypeError');
    // The no-cors POST is opaque to the page (status 0), and the gateway refused it.
    expect(result.simplePost).toBe('status:0:');

    const fromPage = answers.filter((answer) => answer.origin === page.origin);
    expect(fromPage).toEqual([
      {
        kind: 'upgrade',
        method: 'GET',
        url: '/',
        origin: page.origin,
        status: 403,
        code: 'GATEWAY_ORIGIN_NOT_ALLOWED',
      },
      {
        kind: 'http',
        method: 'OPTIONS',
        url: '/v1/models',
        origin: page.origin,
        status: 403,
        code: 'GATEWAY_ORIGIN_NOT_ALLOWED',
      },
      {
        kind: 'http',
        method: 'POST',
        url: '/v1/chat/completions',
        origin: page.origin,
        status: 403,
        code: 'GATEWAY_ORIGIN_NOT_ALLOWED',
      },
    ]);
    // Nothing reached the gateway from that page without an Origin, and nothing was ever served.
    expect(answers.filter((answer) => answer.origin !== page.origin)).toEqual([]);
    expect(answers.filter((answer) => answer.status < 400)).toEqual([]);
    // The gateway's own request log agrees: the HTTP requests it saw all completed with 403.
    const completed = test.logs.filter((line) => line.msg === 'request completed');
    expect(completed.map((line) => (line.res as { statusCode: number }).statusCode)).toEqual([403, 403]);
  });

  it('control: the same page on an allowed origin opens the WebSocket, gets the challenge and completes the handshake with a device key of its own', async () => {
    const { test, answers } = await gateway([page.origin]);
    const result = await runInPage(test, { connect: 'device' });

    expect(result.ws).toEqual([
      'open',
      'message:event:connect.challenge',
      'message:res:hello-ok',
      // The page closes once it has its answer.
      'close:1000',
    ]);
    // The gateway took the page's key: the connection is logged under the id the page derived.
    expect(result.deviceId).toMatch(/^[0-9a-f]{64}$/);
    expect(test.logs.filter((line) => line.msg === 'control client connected')).toEqual([
      expect.objectContaining({ client: 'openclaw-control-ui', device: result.deviceId }),
    ]);
    const upgrades = answers.filter((answer) => answer.kind === 'upgrade');
    expect(upgrades).toEqual([
      { kind: 'upgrade', method: 'GET', url: '/', origin: page.origin, status: 101, code: undefined },
    ]);
    // HTTP from the page now passes the Origin check and stops at the token (the preflight carries none).
    expect(answers.filter((answer) => answer.kind === 'http').map((answer) => answer.code)).not.toContain(
      'GATEWAY_ORIGIN_NOT_ALLOWED',
    );
  });

  it('refuses the same page on an allowed origin that brings the token but no device identity', async () => {
    const { test } = await gateway([page.origin]);
    const result = await runInPage(test, { connect: 'token' });

    expect(result.ws).toEqual([
      'open',
      'message:event:connect.challenge',
      'message:res:error:NOT_PAIRED:DEVICE_IDENTITY_REQUIRED',
      'close:1008',
    ]);
    expect(test.logs.filter((line) => line.msg === 'control client connected')).toEqual([]);
  });

  it('control: an allowed origin that is not the page’s own still refuses the page', async () => {
    const { test, answers } = await gateway(['http://127.0.0.1:1420']);
    const result = await runInPage(test, { connect: 'no' });
    expect(result.ws).not.toContain('open');
    expect(answers.filter((answer) => answer.kind === 'upgrade')).toEqual([
      {
        kind: 'upgrade',
        method: 'GET',
        url: '/',
        origin: page.origin,
        status: 403,
        code: 'GATEWAY_ORIGIN_NOT_ALLOWED',
      },
    ]);
  });
});
