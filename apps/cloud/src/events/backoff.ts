/**
 * Reconnect delays: exponential from `initialMs`, capped at `maxMs`, with
 * full jitter so instances that lost the same server do not return in step.
 */
export function createBackoff(options: { initialMs: number; maxMs: number; random?: () => number }) {
  const { initialMs, maxMs, random = Math.random } = options;
  let attempt = 0;
  return {
    next(): number {
      const ceiling = Math.min(maxMs, initialMs * 2 ** attempt);
      attempt = Math.min(attempt + 1, 30);
      return Math.round(ceiling / 2 + (random() * ceiling) / 2);
    },
    reset(): void {
      attempt = 0;
    },
  };
}
