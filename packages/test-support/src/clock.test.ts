import { describe, expect, it } from 'vitest';
import { manualClock } from './clock.js';

describe('manualClock', () => {
  it('starts at 2030-01-01T00:00:00.000Z unless told otherwise', () => {
    expect(manualClock().now().toISOString()).toBe('2030-01-01T00:00:00.000Z');
    expect(manualClock('2026-11-24T12:00:00Z').now().toISOString()).toBe('2026-11-24T12:00:00.000Z');
    expect(manualClock(1_700_000_000_000).nowMs()).toBe(1_700_000_000_000);
    expect(manualClock(new Date(5)).nowMs()).toBe(5);
  });

  it('advances by exactly the unit its name says, fractions included', () => {
    const clock = manualClock(1_000_000);
    clock.advanceMs(250);
    expect(clock.nowMs()).toBe(1_000_250);
    clock.advanceSeconds(2);
    expect(clock.nowMs()).toBe(1_002_250);
    clock.advanceSeconds(0.001);
    expect(clock.nowMs()).toBe(1_002_251);
    expect(clock.now().getTime()).toBe(1_002_251);
  });

  it('holds whole milliseconds, as a Date does: a fraction of a millisecond is dropped at each step', () => {
    const clock = manualClock(0);
    clock.advanceSeconds(0.0015);
    expect(clock.nowMs()).toBe(1);
    clock.advanceMs(0.9);
    expect(clock.nowMs()).toBe(1);
    expect(clock.now().getTime()).toBe(clock.nowMs());
    clock.set(2.7);
    expect(clock.nowMs()).toBe(2);
  });

  it('stands still until moved, and set jumps to any time, backwards too', () => {
    const clock = manualClock();
    expect(clock.nowMs()).toBe(clock.nowMs());
    clock.set('2029-06-01T00:00:00Z');
    expect(clock.now().toISOString()).toBe('2029-06-01T00:00:00.000Z');
    clock.set(42);
    expect(clock.nowMs()).toBe(42);
  });

  it('works unbound, and a caller mutating the Date it got does not move the clock', () => {
    const { now, nowMs, advanceSeconds } = manualClock(0);
    advanceSeconds(1);
    const taken = now();
    taken.setTime(999_999);
    expect(nowMs()).toBe(1000);
    expect(now()).not.toBe(now());
  });

  it('refuses a time or a step that is not a finite number', () => {
    const clock = manualClock(0);
    expect(() => manualClock('not a date')).toThrow(/not a finite number/);
    expect(() => clock.advanceMs(Number.NaN)).toThrow(/advanceMs/);
    expect(() => clock.advanceSeconds(Number.POSITIVE_INFINITY)).toThrow(/advanceSeconds/);
    expect(() => clock.set('yesterday-ish')).toThrow(/not a finite number/);
    expect(clock.nowMs()).toBe(0);
  });
});
