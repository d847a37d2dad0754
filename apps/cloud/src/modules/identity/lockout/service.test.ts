import { type ManualClock, manualClock } from '@multiclaw/test-support/clock';
import { describe, expect, it } from 'vitest';
import { useTestDatabaseClient } from '../../../../test/support/database-client.js';
import type { Database } from '../../../db/client.js';
import { createLoginThrottle, DEFAULT_LOGIN_THROTTLE_POLICY, type LoginThrottlePolicy } from './service.js';

let db: Database;
useTestDatabaseClient((ready) => {
  db = ready.db;
});

/** The time `seconds` after the clock's now. */
const secondsAfterNow = (clock: ManualClock, seconds: number) => new Date(clock.nowMs() + seconds * 1000);

let counter = 0;
/** A fresh address per test, so tests sharing the database never share a row. */
const freshEmail = () => `person${++counter}-${Date.now()}@example.com`;

function setup(policy: Partial<LoginThrottlePolicy> = {}) {
  const clock = manualClock();
  const throttle = createLoginThrottle({
    db,
    now: clock.now,
    policy: { ...DEFAULT_LOGIN_THROTTLE_POLICY, ...policy },
  });
  return { clock, throttle };
}

async function fail(throttle: ReturnType<typeof setup>['throttle'], email: string, times: number) {
  const results = [];
  for (let i = 0; i < times; i += 1) results.push(await throttle.recordFailure(email));
  return results;
}

async function row(email: string) {
  return db.loginThrottle.findUnique({ where: { email } });
}

describe('login throttle', () => {
  it('locks after `threshold` consecutive failures, for the base period', async () => {
    const { clock, throttle } = setup();
    const email = freshEmail();
    const first = await fail(throttle, email, 4);
    expect(first.every((r) => r.counted && !r.lockoutStarted && r.lockedUntil === undefined)).toBe(true);
    expect(await throttle.check(email)).toEqual({ locked: false });

    const fifth = await throttle.recordFailure(email);
    expect(fifth).toEqual({ counted: true, lockoutStarted: true, lockedUntil: secondsAfterNow(clock, 60) });
    expect(await throttle.check(email)).toEqual({ locked: true, retryAt: secondsAfterNow(clock, 60) });

    clock.advanceSeconds(59.999);
    expect((await throttle.check(email)).locked).toBe(true);
    clock.advanceSeconds(0.001);
    expect(await throttle.check(email)).toEqual({ locked: false });
  });

  it('doubles each further lock and caps it at the maximum', async () => {
    const { clock, throttle } = setup();
    const email = freshEmail();
    const durations: number[] = [];
    for (let lock = 0; lock < 7; lock += 1) {
      const results = await fail(throttle, email, 5);
      const started = results.filter((r) => r.lockoutStarted);
      expect(started).toHaveLength(1);
      const until = started[0]?.lockedUntil as Date;
      durations.push((until.getTime() - clock.now().getTime()) / 1000);
      // Wait out the lock (and one more second), then fail again.
      clock.advanceSeconds((until.getTime() - clock.now().getTime()) / 1000 + 1);
    }
    expect(durations).toEqual([60, 120, 240, 480, 900, 900, 900]);
    expect((await row(email))?.lockoutCount).toBe(7);
  });

  it('does not count or extend anything while locked, even a burst of attempts', async () => {
    const { clock, throttle } = setup();
    const email = freshEmail();
    await fail(throttle, email, 5);
    const lockedUntil = secondsAfterNow(clock, 60);
    const before = await row(email);

    for (let second = 0; second < 60; second += 1) {
      const result = await throttle.recordFailure(email);
      expect(result).toEqual({ counted: false, lockoutStarted: false, lockedUntil });
      clock.advanceSeconds(0.99);
    }
    expect(await row(email)).toEqual(before);

    // After the lock the count starts from zero: the 60 attempts during it did not count.
    clock.advanceSeconds(10);
    expect((await throttle.check(email)).locked).toBe(false);
    const after = await fail(throttle, email, 4);
    expect(after.some((r) => r.lockoutStarted)).toBe(false);
    expect(await throttle.recordFailure(email)).toMatchObject({
      lockoutStarted: true,
      lockedUntil: secondsAfterNow(clock, 120),
    });
  });

  it('forgets failures after a quiet window, and counts those closer together', async () => {
    const { clock, throttle } = setup({ failureWindowSeconds: 600 });
    const email = freshEmail();
    await fail(throttle, email, 4);
    clock.advanceSeconds(600);
    await fail(throttle, email, 4);
    expect((await throttle.check(email)).locked).toBe(false);
    expect((await row(email))?.consecutiveFailures).toBe(4);

    // Failures 599 s apart never leave the window: the fifth locks.
    const slow = freshEmail();
    for (let i = 0; i < 4; i += 1) {
      expect((await throttle.recordFailure(slow)).lockoutStarted).toBe(false);
      clock.advanceSeconds(599);
    }
    expect((await throttle.recordFailure(slow)).lockoutStarted).toBe(true);
  });

  it('lets the escalation decay after a quiet window that starts when the lock ends', async () => {
    const { clock, throttle } = setup({ failureWindowSeconds: 900 });
    const email = freshEmail();
    await fail(throttle, email, 5); // lock 1: 60 s
    clock.advanceSeconds(60 + 899);
    expect((await fail(throttle, email, 5)).at(-1)?.lockedUntil).toEqual(secondsAfterNow(clock, 120)); // still escalating
    clock.advanceSeconds(120 + 900);
    expect((await fail(throttle, email, 5)).at(-1)?.lockedUntil).toEqual(secondsAfterNow(clock, 60)); // forgotten
  });

  it('resets the count and the escalation on success', async () => {
    const { clock, throttle } = setup();
    const email = freshEmail();
    await fail(throttle, email, 4);
    await throttle.recordSuccess(email);
    expect(await row(email)).toBeNull();
    expect((await fail(throttle, email, 4)).some((r) => r.lockoutStarted)).toBe(false);

    await throttle.recordFailure(email); // fifth in a row: lock 1
    clock.advanceSeconds(61);
    await fail(throttle, email, 5); // lock 2: 120 s
    clock.advanceSeconds(121);
    await throttle.recordSuccess(email);
    expect((await fail(throttle, email, 5)).at(-1)?.lockedUntil).toEqual(secondsAfterNow(clock, 60));
  });

  it('shares one counter between case and Unicode variants of an address', async () => {
    const { throttle } = setup();
    const base = `jos\u00e9.${++counter}@example.com`;
    const variants = [
      base,
      base.toUpperCase(),
      `  ${base}\t`,
      base.normalize('NFD'),
      `JOSE\u0301.${counter}@Example.COM`,
    ];
    for (const variant of variants.slice(0, 4)) {
      expect((await throttle.recordFailure(variant)).lockoutStarted).toBe(false);
    }
    expect((await throttle.recordFailure(variants[4] as string)).lockoutStarted).toBe(true);
    for (const variant of variants) expect((await throttle.check(variant)).locked).toBe(true);
    expect(await db.loginThrottle.count({ where: { email: { contains: `.${counter}@` } } })).toBe(1);
    // Another address is not affected.
    expect((await throttle.check(freshEmail())).locked).toBe(false);
  });

  it('counts 50 concurrent failures exactly', async () => {
    const { throttle } = setup({ threshold: 1000 });
    const email = freshEmail();
    const results = await Promise.all(Array.from({ length: 50 }, () => throttle.recordFailure(email)));
    expect(results.every((r) => r.counted)).toBe(true);
    expect((await row(email))?.consecutiveFailures).toBe(50);
    await Promise.all(Array.from({ length: 50 }, () => throttle.recordFailure(email.toUpperCase())));
    expect((await row(email))?.consecutiveFailures).toBe(100);
  });

  it('starts exactly one lock when 50 failures race past the threshold', async () => {
    const { clock, throttle } = setup();
    const email = freshEmail();
    const results = await Promise.all(Array.from({ length: 50 }, () => throttle.recordFailure(email)));
    expect(results.filter((r) => r.counted)).toHaveLength(5);
    expect(results.filter((r) => r.lockoutStarted)).toHaveLength(1);
    expect(
      results.every((r) => r.counted || r.lockedUntil?.getTime() === secondsAfterNow(clock, 60).getTime()),
    ).toBe(true);
    expect(await row(email)).toMatchObject({
      lockoutCount: 1,
      consecutiveFailures: 0,
      lockedUntil: secondsAfterNow(clock, 60),
    });
  });

  it('beginAttempt lets exactly `threshold` parallel attempts through', async () => {
    const { clock, throttle } = setup();
    const email = freshEmail();
    const attempts = await Promise.all(Array.from({ length: 50 }, () => throttle.beginAttempt(email)));
    expect(attempts.filter((a) => a.allowed)).toHaveLength(5);
    expect(attempts.filter((a) => !a.allowed)).toEqual(
      Array.from({ length: 45 }, () => ({ allowed: false, retryAt: secondsAfterNow(clock, 60) })),
    );
    // The right password on an allowed attempt clears everything.
    await throttle.recordSuccess(email);
    expect(await throttle.beginAttempt(email)).toEqual({ allowed: true });
  });

  it('under 10,000 wrong passwords from many clients, is only ever locked temporarily', async () => {
    const { clock, throttle } = setup();
    const { maxLockSeconds, threshold } = DEFAULT_LOGIN_THROTTLE_POLICY;
    const email = freshEmail();
    // A deterministic pseudo-random schedule: bursts of parallel attempts,
    // separated by anything from nothing to a quarter of an hour.
    let seed = 42;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    let attempts = 0;
    let counted = 0;
    let lockouts = 0;
    while (attempts < 10_000) {
      const burst = 1 + Math.floor(random() * 50);
      const results = await Promise.all(
        Array.from({ length: burst }, (_, i) => throttle.recordFailure(i % 2 ? email : email.toUpperCase())),
      );
      attempts += burst;
      for (const result of results) {
        if (result.counted) counted += 1;
        if (result.lockoutStarted) lockouts += 1;
        if (result.lockedUntil) {
          expect(result.lockedUntil.getTime()).toBeLessThanOrEqual(
            secondsAfterNow(clock, maxLockSeconds).getTime(),
          );
        }
      }
      const state = await throttle.check(email);
      if (state.locked)
        expect(state.retryAt?.getTime()).toBeLessThanOrEqual(
          secondsAfterNow(clock, maxLockSeconds).getTime(),
        );
      clock.advanceSeconds(random() < 0.8 ? random() * 30 : random() * 900);
    }
    // Only `threshold` failures get counted per lock; the rest bounced off it.
    expect(counted).toBeLessThanOrEqual((lockouts + 1) * threshold);
    expect(lockouts).toBeGreaterThan(10);
    // However it ended, the lock is over within the cap, and then the person can sign in.
    clock.advanceSeconds(maxLockSeconds);
    expect(await throttle.check(email)).toEqual({ locked: false });
    expect(await throttle.beginAttempt(email)).toMatchObject({ allowed: true });
    await throttle.recordSuccess(email);
    expect(await row(email)).toBeNull();
  }, 120_000);

  it('prunes only rows whose failures expired and that hold no lock', async () => {
    const { clock, throttle } = setup({ failureWindowSeconds: 900 });
    const [old, recent, locked] = [freshEmail(), freshEmail(), freshEmail()];
    await fail(throttle, old, 2);
    clock.advanceSeconds(1000);
    await fail(throttle, recent, 2);
    await fail(throttle, locked, 5);
    const pruned = await throttle.prune();
    expect(pruned).toBeGreaterThanOrEqual(1);
    expect(await row(old)).toBeNull();
    expect(await row(recent)).not.toBeNull();
    expect(await row(locked)).not.toBeNull();
  });

  it('refuses an invalid policy', () => {
    for (const policy of [
      { threshold: 0 },
      { baseLockSeconds: 0 },
      { maxLockSeconds: 30 }, // below the base
      { failureWindowSeconds: 0 },
      { threshold: 2.5 },
    ]) {
      expect(() => setup(policy)).toThrow(RangeError);
    }
  });
});
