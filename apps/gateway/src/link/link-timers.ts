/**
 * Time as the link sees it, injectable so tests drive heartbeats, re-auth and
 * back-off without sleeping.
 */
export interface LinkTimers {
  now(): Date;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /** A uniform draw in [0, 1): the back-off's jitter. */
  random(): number;
}

export const realTimers: LinkTimers = {
  now: () => new Date(),
  setTimeout: (callback, ms) => {
    const handle = setTimeout(callback, ms);
    // Link timers never keep a CLI or a finished test process alive.
    handle.unref?.();
    return handle;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  random: Math.random,
};
