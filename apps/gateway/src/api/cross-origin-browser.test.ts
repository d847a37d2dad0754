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
 * same page gets through.
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

  /** Opens the page on its own origin and runs the attack from inside it. */
  async function runInPage(test: TestGateway, options: { connect: boolean }): Promise<PageResult> {
    const context = await browser.newContext();
    cleanups.push(() => context.close());
    const tab = await context.newPage();
    await tab.goto(`${page.origin}/`);
    expect(await tab.evaluate('location.origin')).toBe(page.origin);
    return tab.evaluate(
      async ({ port, token, connect }) => {
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
            };
            events.push(`message:${frame.type}:${frame.event ?? frame.payload?.type ?? ''}`);
            if (frame.event === 'connect.challenge' && connect) {
              socket.send(
                JSON.stringify({
                  type: 'req',
                  id: 'c1',
                  method: 'connect',
                  params: {
                    minProtocol: 1,
                    maxProtocol: 1,
                    client: { id: 'page', version: '0' },
                    nonce: frame.payload?.nonce,
                    auth: { token },
                  },
                }),
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
        return { ws, fetchWithToken, simplePost };
      },
      { port: test.port, token: test.token, connect: options.connect },
    );
  }

  it('cannot open a WebSocket or call the HTTP API, even with the right token: the gateway answers 403', async () => {
    const { test, answers } = await gateway([]);
    const result = await runInPage(test, { connect: true });

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

  it('control: the same page on an allowed origin opens the WebSocket, gets the challenge and completes the handshake', async () => {
    const { test, answers } = await gateway([page.origin]);
    const result = await runInPage(test, { connect: true });

    expect(result.ws.slice(0, 3)).toEqual([
      'open',
      'message:event:connect.challenge',
      'message:res:hello-ok',
    ]);
    expect(result.ws).not.toContain('error');
    const upgrades = answers.filter((answer) => answer.kind === 'upgrade');
    expect(upgrades).toEqual([
      { kind: 'upgrade', method: 'GET', url: '/', origin: page.origin, status: 101, code: undefined },
    ]);
    // HTTP from the page now passes the Origin check and stops at the token (the preflight carries none).
    expect(answers.filter((answer) => answer.kind === 'http').map((answer) => answer.code)).not.toContain(
      'GATEWAY_ORIGIN_NOT_ALLOWED',
    );
  });

  it('control: an allowed origin that is not the page’s own still refuses the page', async () => {
    const { test, answers } = await gateway(['http://127.0.0.1:1420']);
    const result = await runInPage(test, { connect: false });
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
