import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Browser, chromium } from 'playwright-core';

/**
 * The real browser the attack tests run in, driven by playwright-core: Debian's Chromium,
 * or any Chromium or Chrome binary MULTICLAW_CHROMIUM names.
 */
export const CHROMIUM = process.env.MULTICLAW_CHROMIUM || '/usr/bin/chromium';

/** What to do without one; scripts/check-browser.mjs says the same before `pnpm test` starts. */
export const CHROMIUM_NEEDED = `Chromium is needed for the browser tests and ${CHROMIUM} does not exist: sudo apt-get install chromium (Debian), or set MULTICLAW_CHROMIUM to a Chromium or Chrome binary, or MULTICLAW_SKIP_BROWSER=1 to skip them`;

/**
 * Whether to skip a browser test file: only when MULTICLAW_SKIP_BROWSER=1 asks, and
 * then loudly. A missing browser is never a silent skip: the file fails with
 * CHROMIUM_NEEDED.
 */
export function chromiumMissing(testFile: string): boolean {
  if (process.env.MULTICLAW_SKIP_BROWSER === '1') {
    console.warn(`${testFile} skipped: MULTICLAW_SKIP_BROWSER=1`);
    return true;
  }
  if (!existsSync(CHROMIUM)) throw new Error(CHROMIUM_NEEDED);
  return false;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
}

/** A page on another origin than the server under test: a plain local server on its own port. */
export async function startPageServer(
  html = '<!doctype html><title>somewhere else</title><p>a page on another origin</p>',
): Promise<{ origin: string; close(): Promise<void> }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
