import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Browser, chromium } from 'playwright-core';

/** Debian's Chromium, driven by playwright-core: the real browser the attack tests run in. */
export const CHROMIUM = '/usr/bin/chromium';

/** Skipped on a developer machine without Chromium; in CI (which installs it) a missing browser fails the test. */
export function chromiumMissing(testFile: string): boolean {
  const skip = !existsSync(CHROMIUM) && !process.env.CI;
  if (skip)
    console.warn(`${testFile} skipped: ${CHROMIUM} does not exist (apt-get install chromium to run it)`);
  return skip;
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
