import { manualClock } from '@multiclaw/test-support/clock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp } from '../../../test/support/app.js';

/**
 * The adversarial case from the issue: 10,000 wrong passwords against one
 * account, from many client addresses, over simulated time. None signs in,
 * the account is only ever temporarily locked, and its owner gets back in.
 */
const ATTEMPTS = 10_000;
const ADDRESSES = 500;
const PARALLEL = 8;
const PASSWORD = 'the real passphrase 42';

/** One of ADDRESSES distinct client addresses, half IPv4 and half IPv6. */
const addressOf = (n: number) =>
  n % 2 === 0 ? `10.0.${Math.floor(n / 250)}.${(n % 250) + 1}` : `2001:db8:${n.toString(16)}::1`;

const clock = manualClock('2026-11-24T12:00:00Z');
let ctx: Awaited<ReturnType<typeof createTestApp>>;

beforeAll(async () => {
  ctx = await createTestApp({
    now: clock.now,
    env: { AUTH_LOCKOUT_MAX_SECONDS: '900', AUTH_RATE_LIMIT_MAX: '1000' },
  });
});
afterAll(async () => {
  await ctx?.close();
});

describe('10,000 wrong passwords', { timeout: 600_000 }, () => {
  it('never sign in and leave the account only temporarily locked', async () => {
    const email = 'target@example.com';
    const registered = await ctx.app.inject({
      method: 'POST',
      url: '/v1/auth/register',
      payload: { email, password: PASSWORD },
    });
    expect(registered.statusCode).toBe(201);

    const statuses = new Map<number, number>();
    let longestLockSeconds = 0;
    for (let done = 0; done < ATTEMPTS; done += PARALLEL) {
      const batch = await Promise.all(
        Array.from({ length: PARALLEL }, (_, i) =>
          ctx.app.inject({
            method: 'POST',
            url: '/v1/auth/login',
            remoteAddress: addressOf((done + i) % ADDRESSES),
            payload: { email, password: `guess-${done + i}-wrong` },
          }),
        ),
      );
      for (const response of batch)
        statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
      // Simulated time passes: 2 s per batch, about 40 minutes over the run.
      clock.advanceMs(2_000);
      if (done % 400 === 0) {
        const row = await ctx.app.db.loginThrottle.findUnique({ where: { email } });
        if (row?.lockedUntil) {
          longestLockSeconds = Math.max(
            longestLockSeconds,
            (row.lockedUntil.getTime() - clock.nowMs()) / 1000,
          );
        }
      }
    }

    expect(statuses.get(200) ?? 0).toBe(0);
    expect([...statuses.keys()]).toEqual([401]);
    expect(longestLockSeconds).toBeGreaterThan(0);
    expect(longestLockSeconds).toBeLessThanOrEqual(900);
    const row = await ctx.app.db.loginThrottle.findUniqueOrThrow({ where: { email } });
    expect(row.lockoutCount).toBeGreaterThan(3);

    // The lock is temporary: once it runs out, the owner signs in.
    clock.advanceMs(901_000);
    const owner = await ctx.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email, password: PASSWORD },
    });
    expect(owner.statusCode).toBe(200);
  });
});
