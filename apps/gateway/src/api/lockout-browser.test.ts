import { CHROMIUM, chromiumMissing, launchChromium, startPageServer } from '@multiclaw/test-support/browser';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../../test/support/gateway.js';
import { connectControlClient } from '../../test/support/ws-client.js';
import { AuthFailureLimiter } from './auth-failure-limiter.js';

/**
 * Issue 11: a page on another localhost origin used to lock the desktop out
 * by loading a dozen `<img src="http://127.0.0.1:18789/…">`: each tokenless
 * request counted as a failed login, and after 10 the right token was refused
 * too. Here a real Chromium page fires images, no-cors fetches, credentialed
 * fetches and WebSocket attempts at the gateway while the real client (right
 * token, over HTTP and WebSocket) keeps asking; every one of its requests
 * must succeed and nothing the page did may spend the failure budget.
 */

const SKIP = chromiumMissing('lockout-browser.test.ts');

/** Runs inside the page: fires everything at once and waits until each attempt has settled. */
async function attack({ port, rounds }: { port: number; rounds: number }): Promise<string[]> {
  // The page's own Image constructor (this file is typed without the DOM library).
  const { Image } = globalThis as unknown as {
    Image: new () => { onload: () => void; onerror: () => void; src: string };
  };
  const base = `http://127.0.0.1:${port}`;
  const settled: Promise<string>[] = [];
  for (let i = 0; i < rounds; i += 1) {
    for (const path of ['/v1/models', '/v1/gateway/status', `/v1/chat/completions?i=${i}`]) {
      settled.push(
        new Promise((resolve) => {
          const img = new Image();
          img.onload = () => resolve('img:load');
          img.onerror = () => resolve('img:error');
          img.src = `${base}${path}${path.includes('?') ? '&' : '?'}r=${i}`;
        }),
      );
    }
    settled.push(
      fetch(`${base}/v1/models?f=${i}`, { mode: 'no-cors' }).then(
        (response) => `no-cors:${response.type}`,
        () => 'no-cors:rejected',
      ),
      // A guess at the token needs a header, hence a preflight, which the Origin check refuses.
      fetch(`${base}/v1/models`, { headers: { authorization: `Bearer guess-${i}-${'x'.repeat(40)}` } }).then(
        (response) => `guess:${response.status}`,
        () => 'guess:rejected',
      ),
      new Promise((resolve) => {
        const socket = new WebSocket(`ws://127.0.0.1:${port}/`);
        socket.onopen = () => resolve('ws:open');
        socket.onclose = () => resolve('ws:closed');
      }),
    );
  }
  return Promise.all(settled);
}

describe.skipIf(SKIP)(`a hostile page in real Chromium (${CHROMIUM}) cannot lock the user out`, () => {
  let browser: Browser;
  let page: { origin: string; close(): Promise<void> };
  let test: TestGateway;
  const failures: string[] = [];

  beforeAll(async () => {
    browser = await launchChromium();
    page = await startPageServer();
    class RecordingLimiter extends AuthFailureLimiter {
      override recordFailure(key: string): void {
        failures.push(key);
        super.recordFailure(key);
      }
    }
    // The product's defaults: 10 failures per minute.
    test = await startTestGateway({ limiter: new RecordingLimiter() });
  });
  afterAll(async () => {
    await browser?.close();
    await page?.close();
    await test?.close();
  });

  it('serves the real client throughout while the page fires 20 rounds of images, fetches and WebSockets', async () => {
    const answers: number[] = [];
    test.gateway.app.server.on('request', (req, res) => {
      if (req.headers.authorization === undefined) res.on('finish', () => answers.push(res.statusCode));
    });
    const context = await browser.newContext();
    const tab = await context.newPage();
    await tab.goto(`${page.origin}/`);

    const { client } = await connectControlClient(test.url, test.token);
    const attackDone = tab.evaluate(attack, { port: test.port, rounds: 20 });
    let done = false;
    void attackDone.finally(() => {
      done = true;
    });
    const realClient: string[] = [];
    // The real client asks until the attack has settled, and twice more after it.
    let roundsAfterAttack = 0;
    while (roundsAfterAttack < 2) {
      if (done) roundsAfterAttack += 1;
      const response = await fetch(`${test.url}/v1/gateway/status`, { headers: test.authHeaders });
      await response.arrayBuffer();
      const health = await client.request('health');
      realClient.push(`${response.status}/${health.ok ? 'ok' : 'refused'}`);
    }
    const pageResults = await attackDone;
    client.close();
    await context.close();

    expect(realClient.length).toBeGreaterThanOrEqual(3);
    expect(new Set(realClient)).toEqual(new Set(['200/ok']));
    // The page got nothing: images fail, guesses never leave the browser, sockets never open.
    expect(
      pageResults.filter((result) => ['img:load', 'ws:open'].includes(result) || /^guess:\d/.test(result)),
    ).toEqual([]);
    // What reached the gateway from the page was refused (401 without a token, 403 for its Origin)…
    expect(answers.length).toBeGreaterThanOrEqual(60);
    expect(new Set(answers)).toEqual(new Set([401, 403]));
    // …and none of it counted as a guess.
    expect(failures).toEqual([]);
  });
});
