/**
 * A clock a test moves by hand, for the code under test that takes an injected `now`.
 * Its members are arrow functions, so `clock.now` and `clock.nowMs` can be handed over
 * unbound. The units are in the names because some callers think in seconds and
 * others in milliseconds. Like a Date it holds whole milliseconds: a step's fraction of
 * a millisecond is dropped, so `nowMs()` always equals `now().getTime()`.
 */
export interface ManualClock {
  /** The current time, a fresh Date each call: a caller that mutates it cannot move the clock. */
  now: () => Date;
  /** The current time in milliseconds since the epoch. */
  nowMs: () => number;
  advanceMs: (ms: number) => void;
  advanceSeconds: (seconds: number) => void;
  set: (time: string | number | Date) => void;
}

export const DEFAULT_CLOCK_START = '2030-01-01T00:00:00.000Z';

export function manualClock(start: string | number | Date = DEFAULT_CLOCK_START): ManualClock {
  let currentMs = toMs(start);
  return {
    now: () => new Date(currentMs),
    nowMs: () => currentMs,
    advanceMs: (ms) => {
      currentMs = Math.trunc(currentMs + finite(ms, 'advanceMs'));
    },
    advanceSeconds: (seconds) => {
      currentMs = Math.trunc(currentMs + finite(seconds, 'advanceSeconds') * 1000);
    },
    set: (time) => {
      currentMs = toMs(time);
    },
  };
}

function toMs(time: string | number | Date): number {
  const ms = typeof time === 'number' ? time : new Date(time).getTime();
  return Math.trunc(finite(ms, `manualClock time ${String(time)}`));
}

// A NaN would silently poison every later reading; fail where the bad value came in.
function finite(value: number, what: string): number {
  if (!Number.isFinite(value)) throw new Error(`${what}: ${value} is not a finite number`);
  return value;
}
