import { LINK_RECONNECT_BASE_MS, LINK_RECONNECT_CAP_MS } from '@multiclaw/protocol';

/**
 * How long to wait before reconnect attempt `attempt` (0 for the first after
 * a drop): "full jitter" — a uniform draw between 0 and min(cap, base·2^attempt)
 * — so a cloud coming back is not hit by every gateway at the same instant.
 */
export function reconnectDelayMs(
  attempt: number,
  random: () => number = Math.random,
  base = LINK_RECONNECT_BASE_MS,
  cap = LINK_RECONNECT_CAP_MS,
): number {
  const ceiling = Math.min(cap, base * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}
