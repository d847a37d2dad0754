import { ErrorEnvelope } from '@multiclaw/protocol';
import { manualClock } from '@multiclaw/test-support/clock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp } from '../../../test/support/app.js';

const clock = manualClock('2026-11-30T12:00:00Z');
let ctx: Awaited<ReturnType<typeof createTestApp>>;

beforeAll(async () => {
  ctx = await createTestApp({
    now: clock.now,
    env: { AUTH_RATE_LIMIT_MAX: '3', AUTH_RATE_LIMIT_WINDOW_SECONDS: '60' },
  });
});
afterAll(async () => {
  await ctx?.close();
});

const guess = (address: string, code: string) =>
  ctx.app.inject({
    method: 'POST',
    url: '/v1/gateways/enroll',
    remoteAddress: address,
    payload: { code, publicKey: 'FliRhv4xFq2ZkR7xe2dznhXrDlgiHReeMR7kcz6v9Vw' },
  });

describe('POST /v1/gateways/enroll rate limit', () => {
  it('stops a client guessing codes after the sign-in budget, per client, until the window ends', async () => {
    for (let i = 0; i < 3; i++) {
      const refused = await guess('198.51.100.9', `guess-${i}`);
      expect(ErrorEnvelope.parse(refused.json()).error.code).toBe('GATEWAY_ENROLLMENT_INVALID');
    }
    const limited = await guess('198.51.100.9', 'guess-3');
    expect(limited.statusCode).toBe(429);
    expect(ErrorEnvelope.parse(limited.json()).error.code).toBe('RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);

    // Another client has its own budget; the first gets its budget back when the window ends.
    expect((await guess('198.51.100.10', 'guess-4')).statusCode).toBe(400);
    clock.advanceMs(60_000);
    expect((await guess('198.51.100.9', 'guess-5')).statusCode).toBe(400);
  });
});
