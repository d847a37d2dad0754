import type { AddressInfo } from 'node:net';
import { chromiumMissing, launchChromium } from '@multiclaw/test-support/browser';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp } from '../../test/support/app.js';
import { sameOriginOnly } from './openapi.js';

/**
 * `/docs` is meant to reach nothing but its own origin. Real Chromium loads
 * it from a listening server; every request the page makes is recorded.
 */
const SKIP = chromiumMissing('docs-page.browser.test.ts');

/** Each source of each directive: only keywords, hashes, nonces and `data:` may appear. */
function foreignSources(csp: string): string[] {
  return csp
    .split(';')
    .flatMap((directive) => directive.trim().split(/\s+/).slice(1))
    .filter((source) => source !== '' && !/^'.*'$/.test(source) && source !== 'data:');
}

describe.skipIf(SKIP)('the API docs page in Chromium', () => {
  let ctx: Awaited<ReturnType<typeof createTestApp>>;
  let origin: string;
  let browser: Browser;

  beforeAll(async () => {
    ctx = await createTestApp();
    await ctx.app.listen({ host: '127.0.0.1', port: 0 });
    origin = `http://127.0.0.1:${(ctx.app.server.address() as AddressInfo).port}`;
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await ctx?.close();
  });

  it('renders from its own origin only, and its CSP names no other origin', async () => {
    const page = await browser.newPage();
    const requested: string[] = [];
    page.on('request', (request) => requested.push(request.url()));
    const response = await page.goto(`${origin}/docs`, { waitUntil: 'networkidle' });
    expect(response?.status()).toBe(200);
    // The UI really rendered the API description it fetched.
    await page.locator('.swagger-ui .info .title', { hasText: 'MultiClaw Cloud API' }).waitFor();
    expect(requested).toContain(`${origin}/docs/json`);
    const elsewhere = requested.filter((url) => !url.startsWith('data:') && new URL(url).origin !== origin);
    expect(elsewhere).toEqual([]);

    const csp = response?.headers()['content-security-policy'] ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(foreignSources(csp)).toEqual([]);
    await page.close();
  });

  it('sameOriginOnly drops every source naming another origin or scheme (control for the check above)', () => {
    const loose =
      "default-src 'self'; img-src 'self' data: validator.swagger.io; style-src 'self' https: 'unsafe-inline'; font-src 'self' https: data:";
    expect(foreignSources(loose)).toEqual(['validator.swagger.io', 'https:', 'https:']);
    expect(foreignSources(sameOriginOnly(loose))).toEqual([]);
    expect(sameOriginOnly(loose)).toContain("style-src 'self' 'unsafe-inline'");
  });
});
