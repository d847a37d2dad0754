import { ApiError } from '@multiclaw/protocol';
import { manualClock } from '@multiclaw/test-support/clock';
import { describe, expect, it } from 'vitest';
import { AuthFailureLimiter, budgetKey } from './auth-failure-limiter.js';

const START_MS = 1_700_000_000_000;

function refusal(limiter: AuthFailureLimiter, client: string): ApiError | undefined {
  const error = limiter.refusal(client);
  if (error) expect(error).toBeInstanceOf(ApiError);
  return error;
}

const RIGHT = 'r'.repeat(43);
const WRONG = 'w'.repeat(43);
const MISSING = 'send the token';

describe('AuthFailureLimiter.authenticate: throttles guessing, never the holder of the token', () => {
  it('never refuses the right token, however many wrong ones came before from the same address', () => {
    const limiter = new AuthFailureLimiter(3, 60_000, manualClock(START_MS).nowMs);
    for (let i = 0; i < 50; i += 1) limiter.authenticate('127.0.0.1', WRONG, RIGHT, MISSING);
    expect(limiter.authenticate('127.0.0.1', WRONG, RIGHT, MISSING)?.code).toBe('RATE_LIMITED');
    expect(limiter.authenticate('127.0.0.1', RIGHT, RIGHT, MISSING)).toBeUndefined();
  });

  it('refuses a request without any credential with 401, and does not count it', () => {
    const limiter = new AuthFailureLimiter(3, 60_000, manualClock(START_MS).nowMs);
    for (let i = 0; i < 100; i += 1) {
      const error = limiter.authenticate('127.0.0.1', undefined, RIGHT, MISSING);
      expect([error?.code, error?.message]).toEqual(['UNAUTHENTICATED', MISSING]);
    }
    expect(refusal(limiter, 'loopback')).toBeUndefined();
    // The budget for wrong tokens is untouched: the first wrong one is a plain 401.
    expect(limiter.authenticate('127.0.0.1', WRONG, RIGHT, MISSING)?.code).toBe('UNAUTHENTICATED');
  });

  it('spends one budget for all of loopback: rotating 127.x.y.z or ::1 does not multiply it', () => {
    const limiter = new AuthFailureLimiter(10, 60_000, manualClock(START_MS).nowMs);
    const sources = ['127.0.0.1', '127.0.0.2', '127.1.2.3', '::1', '::ffff:127.9.9.9', '127.255.255.254'];
    const codes = Array.from(
      { length: 12 },
      (_, i) => limiter.authenticate(sources[i % sources.length], WRONG, RIGHT, MISSING)?.code,
    );
    expect(codes.slice(0, 10)).toEqual(Array(10).fill('UNAUTHENTICATED'));
    expect(codes.slice(10)).toEqual(['RATE_LIMITED', 'RATE_LIMITED']);
    for (const source of sources) expect(limiter.authenticate(source, RIGHT, RIGHT, MISSING)).toBeUndefined();
  });
});

describe('budgetKey', () => {
  it('is one key for every loopback address, per address for IPv4 peers and per /64 for IPv6 peers', () => {
    for (const address of ['127.0.0.1', '127.3.4.5', '::1', '::ffff:127.0.0.1', '::FFFF:127.8.8.8'])
      expect(budgetKey(address)).toBe('loopback');
    expect(budgetKey('192.168.1.20')).toBe('192.168.1.20');
    expect(budgetKey('::ffff:10.0.0.7')).toBe('10.0.0.7');
    expect(budgetKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(budgetKey('2001:db8:1:2::9')).toBe(budgetKey('2001:db8:1:2:ffff:ffff:ffff:ffff'));
    expect(budgetKey('2001:db8:1:3::9')).not.toBe(budgetKey('2001:db8:1:2::9'));
    expect(budgetKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
  });
});

describe('AuthFailureLimiter', () => {
  it('allows a client with no failures', () => {
    const limiter = new AuthFailureLimiter(3, 60_000, manualClock(START_MS).nowMs);
    expect(refusal(limiter, '127.0.0.1')).toBeUndefined();
  });

  it('allows up to max - 1 failures and blocks at max', () => {
    const limiter = new AuthFailureLimiter(3, 60_000, manualClock(START_MS).nowMs);
    for (let i = 0; i < 2; i += 1) {
      limiter.recordFailure('127.0.0.1');
      expect(refusal(limiter, '127.0.0.1')).toBeUndefined();
    }
    limiter.recordFailure('127.0.0.1');
    const error = refusal(limiter, '127.0.0.1');
    expect(error?.code).toBe('RATE_LIMITED');
  });

  it('keeps blocking while the window lasts, however often the client asks', () => {
    const clock = manualClock(START_MS);
    const limiter = new AuthFailureLimiter(2, 60_000, clock.nowMs);
    limiter.recordFailure('c');
    limiter.recordFailure('c');
    for (let i = 0; i < 5; i += 1) {
      expect(refusal(limiter, 'c')?.code).toBe('RATE_LIMITED');
      clock.advanceMs(10_000);
    }
    // 50 s into the window: still blocked; asking did not extend or shorten it.
    expect(refusal(limiter, 'c')?.code).toBe('RATE_LIMITED');
  });

  it('tells the client how many seconds remain, rounded up', () => {
    const clock = manualClock(START_MS);
    const limiter = new AuthFailureLimiter(1, 60_000, clock.nowMs);
    limiter.recordFailure('c');
    expect(refusal(limiter, 'c')?.details?.retryAfterSeconds).toBe(60);
    clock.advanceMs(1);
    expect(refusal(limiter, 'c')?.details?.retryAfterSeconds).toBe(60);
    clock.advanceMs(999);
    expect(refusal(limiter, 'c')?.details?.retryAfterSeconds).toBe(59);
    clock.advanceMs(58_500);
    expect(refusal(limiter, 'c')?.details?.retryAfterSeconds).toBe(1);
    clock.advanceMs(499);
    expect(refusal(limiter, 'c')?.details?.retryAfterSeconds).toBe(1);
  });

  it('counts the window from the first failure, not the last', () => {
    const clock = manualClock(START_MS);
    const limiter = new AuthFailureLimiter(3, 60_000, clock.nowMs);
    limiter.recordFailure('c');
    clock.advanceMs(50_000);
    limiter.recordFailure('c');
    limiter.recordFailure('c');
    expect(refusal(limiter, 'c')?.details?.retryAfterSeconds).toBe(10);
    clock.advanceMs(10_000);
    expect(refusal(limiter, 'c')).toBeUndefined();
  });

  it('lets the client in again once the window has passed, and starts a fresh count', () => {
    const clock = manualClock(START_MS);
    const limiter = new AuthFailureLimiter(3, 60_000, clock.nowMs);
    for (let i = 0; i < 3; i += 1) limiter.recordFailure('c');
    clock.advanceMs(59_999);
    expect(refusal(limiter, 'c')?.code).toBe('RATE_LIMITED');
    clock.advanceMs(1);
    expect(refusal(limiter, 'c')).toBeUndefined();
    // The old failures are gone: it takes the full count again to be blocked.
    limiter.recordFailure('c');
    limiter.recordFailure('c');
    expect(refusal(limiter, 'c')).toBeUndefined();
    limiter.recordFailure('c');
    expect(refusal(limiter, 'c')?.code).toBe('RATE_LIMITED');
    expect(refusal(limiter, 'c')?.details?.retryAfterSeconds).toBe(60);
  });

  it('forgets failures older than the window even below the limit', () => {
    const clock = manualClock(START_MS);
    const limiter = new AuthFailureLimiter(3, 60_000, clock.nowMs);
    limiter.recordFailure('c');
    limiter.recordFailure('c');
    clock.advanceMs(60_000);
    limiter.recordFailure('c');
    limiter.recordFailure('c');
    expect(refusal(limiter, 'c')).toBeUndefined();
  });

  it('counts each client on its own', () => {
    const limiter = new AuthFailureLimiter(2, 60_000, manualClock(START_MS).nowMs);
    limiter.recordFailure('127.0.0.1');
    limiter.recordFailure('127.0.0.1');
    limiter.recordFailure('::1');
    expect(refusal(limiter, '127.0.0.1')?.code).toBe('RATE_LIMITED');
    expect(refusal(limiter, '::1')).toBeUndefined();
    expect(refusal(limiter, '10.0.0.1')).toBeUndefined();
    limiter.recordFailure('::1');
    expect(refusal(limiter, '::1')?.code).toBe('RATE_LIMITED');
  });

  it('gives each client its own window', () => {
    const clock = manualClock(START_MS);
    const limiter = new AuthFailureLimiter(1, 60_000, clock.nowMs);
    limiter.recordFailure('a');
    clock.advanceMs(30_000);
    limiter.recordFailure('b');
    clock.advanceMs(30_000);
    expect(refusal(limiter, 'a')).toBeUndefined();
    expect(refusal(limiter, 'b')?.details?.retryAfterSeconds).toBe(30);
  });

  it('defaults to 10 failures per minute', () => {
    const clock = manualClock(START_MS);
    const limiter = new AuthFailureLimiter(undefined, undefined, clock.nowMs);
    for (let i = 0; i < 9; i += 1) limiter.recordFailure('c');
    expect(refusal(limiter, 'c')).toBeUndefined();
    limiter.recordFailure('c');
    expect(refusal(limiter, 'c')?.details?.retryAfterSeconds).toBe(60);
    clock.advanceMs(60_000);
    expect(refusal(limiter, 'c')).toBeUndefined();
  });

  it('keeps working when very many clients fail (pruning keeps blocked clients blocked)', () => {
    const clock = manualClock(START_MS);
    const limiter = new AuthFailureLimiter(1, 60_000, clock.nowMs);
    limiter.recordFailure('victim');
    for (let i = 0; i < 10_050; i += 1) limiter.recordFailure(`client-${i}`);
    expect(refusal(limiter, 'victim')?.code).toBe('RATE_LIMITED');
    expect(refusal(limiter, 'client-10049')?.code).toBe('RATE_LIMITED');
    clock.advanceMs(60_000);
    expect(refusal(limiter, 'victim')).toBeUndefined();
  });
});
