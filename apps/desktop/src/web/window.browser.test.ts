import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromiumMissing, launchChromium, startPageServer } from '@multiclaw/test-support/browser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDesktop, type TestDesktop } from '../../test/support/desktop.js';

/**
 * The host's walls in a real Chromium: a stand-in UI (what apps/desktop/ui
 * builds to: an index.html and a script file) takes the secret from the
 * fragment and calls a command; the CSP stops inline script and requests to
 * other origins; a page on another origin cannot call a command.
 */
const skip = chromiumMissing('window.browser.test.ts');

const INDEX = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>stand-in UI</title>
<script src="/app.js" defer></script></head>
<body><main id="out">loading</main>
<script>document.body.dataset.inline = 'ran';</script>
</body></html>`;

// The UI's first move: secret from the fragment into memory, fragment out of the address bar.
const APP = `
const secret = new URLSearchParams(location.hash.slice(1)).get('secret');
history.replaceState(null, '', location.pathname);
window.results = {};
(async () => {
  const own = await fetch('/ipc/settings.get', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-multiclaw-secret': secret },
    body: '{}',
  });
  window.results.own = { status: own.status, body: await own.json() };
  try {
    await fetch(window.FOREIGN_URL || 'http://127.0.0.1:9/anything');
    window.results.foreign = 'reached';
  } catch {
    window.results.foreign = 'blocked';
  }
  document.getElementById('out').textContent = 'done';
})();
`;

let t: TestDesktop;
let uiDir: string;
let browser: Awaited<ReturnType<typeof launchChromium>>;
let elsewhere: Awaited<ReturnType<typeof startPageServer>>;

beforeAll(async () => {
  if (skip) return;
  uiDir = await mkdtemp(join(tmpdir(), 'mc-desktop-ui-'));
  await writeFile(join(uiDir, 'index.html'), INDEX);
  await writeFile(join(uiDir, 'app.js'), APP);
  t = await startTestDesktop({ gateway: false, uiDir });
  elsewhere = await startPageServer();
  browser = await launchChromium();
});
afterAll(async () => {
  if (skip) return;
  await browser.close();
  await elsewhere.close();
  await t.close();
  await rm(uiDir, { recursive: true, force: true });
});

describe.skipIf(skip)('the window in Chromium', () => {
  it('calls a command with the secret from its fragment, then the address bar no longer shows it', async () => {
    const page = await browser.newPage();
    await page.goto(t.desktop.windowUrl('main'));
    await page.getByText('done').waitFor();
    const results = (await page.evaluate('window.results')) as { own: { status: number; body: unknown } };
    expect(results.own).toEqual({
      status: 200,
      body: { cloudUrl: null, localOnly: false, gatewayAllowedOrigins: [] },
    });
    expect(page.url()).toBe(`${t.desktop.url}/`);
    expect(await page.evaluate('localStorage.length + sessionStorage.length')).toBe(0);
    await page.close();
  });

  it('the CSP blocks inline script and requests to any other origin', async () => {
    const page = await browser.newPage();
    const violations: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') violations.push(message.text());
    });
    await page.addInitScript(`window.FOREIGN_URL = ${JSON.stringify(`${elsewhere.origin}/`)}`);
    await page.goto(t.desktop.windowUrl('main'));
    await page.getByText('done').waitFor();
    expect(await page.evaluate('document.body.dataset.inline ?? "blocked"')).toBe('blocked');
    expect(await page.evaluate('window.results.foreign')).toBe('blocked');
    expect(violations.some((text) => text.includes('Content Security Policy'))).toBe(true);
    await page.close();
  });

  it('a page on another origin cannot call a command, even holding the secret, and nothing runs', async () => {
    const page = await browser.newPage();
    await page.goto(elsewhere.origin);
    const outcome = await page.evaluate(
      async ({ url, secret }) => {
        try {
          const response = await fetch(`${url}/ipc/settings.update`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-multiclaw-secret': secret },
            body: JSON.stringify({ localOnly: true }),
          });
          return `answered ${response.status}`;
        } catch {
          return 'blocked';
        }
      },
      { url: t.desktop.url, secret: t.desktop.secretOf('main') },
    );
    expect(outcome).toBe('blocked');
    // A form post needs no preflight: it reaches the host, which refuses it.
    await page.setContent(
      `<form method="post" action="${t.desktop.url}/ipc/settings.update" enctype="text/plain"><input name='{"localOnly":true,"x":"' value='"}'></form>`,
    );
    const [response] = await Promise.all([
      page.waitForResponse(`${t.desktop.url}/ipc/settings.update`),
      page.evaluate('document.forms[0].submit()'),
    ]);
    expect(response.status()).toBe(403);
    expect((await t.call('settings.get')).body.localOnly).toBe(false);
    await page.close();
  });
});
