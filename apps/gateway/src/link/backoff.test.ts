import { LINK_RECONNECT_BASE_MS, LINK_RECONNECT_CAP_MS } from '@multiclaw/protocol';
import { describe, expect, it } from 'vitest';
import { reconnectDelayMs } from './backoff.js';

describe('reconnect back-off (full jitter)', () => {
  it('stays within [0, min(15 s, 250 ms · 2^attempt)) for every attempt', () => {
    const almostOne = () => 0.999_999;
    expect(LINK_RECONNECT_BASE_MS).toBe(250);
    expect(LINK_RECONNECT_CAP_MS).toBe(15_000);
    const ceilings = [250, 500, 1000, 2000, 4000, 8000, 15_000, 15_000];
    ceilings.forEach((ceiling, attempt) => {
      expect(reconnectDelayMs(attempt, () => 0)).toBe(0);
      const top = reconnectDelayMs(attempt, almostOne);
      expect(top, `attempt ${attempt}`).toBeLessThan(ceiling);
      expect(top, `attempt ${attempt}`).toBeGreaterThanOrEqual(ceiling - 1);
    });
    // Far out (a cloud down for hours) the cap still holds, and nothing overflows.
    expect(reconnectDelayMs(10_000, almostOne)).toBeLessThan(15_000);
    expect(Number.isFinite(reconnectDelayMs(10_000, almostOne))).toBe(true);
  });

  it('spreads reconnects: many gateways after the same drop do not pick the same delay', () => {
    const delays = new Set(Array.from({ length: 200 }, () => reconnectDelayMs(5)));
    expect(delays.size).toBeGreaterThan(150);
  });
});
