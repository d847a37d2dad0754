import { manualClock } from '@multiclaw/test-support/clock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp } from '../../../test/support/app.js';
import { connectLink, listenForLinks, refused } from '../../../test/support/link-gateway.js';

const clock = manualClock('2026-12-01T12:00:00Z');
let ctx: Awaited<ReturnType<typeof createTestApp>>;
let url: string;

beforeAll(async () => {
  ctx = await createTestApp({
    now: clock.now,
    env: { AUTH_RATE_LIMIT_MAX: '3', AUTH_RATE_LIMIT_WINDOW_SECONDS: '60' },
  });
  url = await listenForLinks(ctx.app);
});
afterAll(async () => {
  await ctx?.close();
});

describe('GET /v1/gateway-link rate limit', () => {
  it('refuses a client’s upgrades past the per-client budget with 429 and Retry-After, until the window ends', async () => {
    for (let i = 0; i < 3; i++) {
      const refusal = await refused(connectLink(url, { assertion: `not.an.assertion${i}` }));
      expect(refusal.status).toBe(401);
    }
    const limited = await refused(connectLink(url, { assertion: 'not.an.assertion' }));
    expect(limited.status).toBe(429);
    expect(limited.envelope.error.code).toBe('RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    clock.advanceSeconds(60);
    expect((await refused(connectLink(url, { assertion: 'not.an.assertion' }))).status).toBe(401);
  });
});
