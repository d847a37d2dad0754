import { randomBytes } from 'node:crypto';
import { createLogger } from '@multiclaw/runtime/logger';
import { manualClock } from '@multiclaw/test-support/clock';
import { describe, expect, it } from 'vitest';
import type { TestDatabase } from '../../../../test/database.js';
import { LogCapture } from '../../../../test/support/app.js';
import { useTestDatabaseClient } from '../../../../test/support/database-client.js';
import { validEnv } from '../../../../test/support/env.js';
import { buildApp } from '../../../app.js';
import { loadConfig } from '../../../config.js';
import { createPrismaClient, type Database } from '../../../db/client.js';
import { type IntervalTimers, PRUNE_INTERVAL_MS, schedulePruning } from './pruning.js';
import { createLoginThrottle } from './service.js';

/** Interval timers the test fires by hand: `tick()` runs every registered callback and waits for it. */
function manualTimers() {
  const callbacks = new Map<number, { callback: () => Promise<void>; ms: number }>();
  let next = 0;
  const timers: IntervalTimers = {
    setInterval(callback, ms) {
      next += 1;
      callbacks.set(next, { callback, ms });
      return next;
    },
    clearInterval(handle) {
      callbacks.delete(handle as number);
    },
  };
  return {
    timers,
    intervals: () => [...callbacks.values()].map((entry) => entry.ms),
    async tick() {
      for (const { callback } of [...callbacks.values()]) await callback();
    },
  };
}

let database: TestDatabase;
let db: Database;
useTestDatabaseClient((ready) => {
  ({ database, db } = ready);
});

describe('login_throttles pruning on a schedule', () => {
  it('keeps the table bounded under a steady flood of unknown emails', async () => {
    const clock = manualClock('2030-01-01T00:00:00Z');
    const now = clock.now;
    const manual = manualTimers();
    // The real app, so the schedule under test is the one it wires at start-up.
    const config = loadConfig(validEnv({ DATABASE_URL: database.url }));
    const app = await buildApp({
      config,
      db: createPrismaClient(database.url),
      logger: createLogger({ level: 'silent' }),
      now,
      timers: manual.timers,
    });
    await app.ready();
    try {
      expect(manual.intervals()).toEqual([PRUNE_INTERVAL_MS]);
      // An attacker's failed sign-ins, as the sign-in route records them.
      const throttle = createLoginThrottle({ db, now, policy: config.auth.lockout });
      const perMinute = 10;
      const minutes = 60;
      const sizes: number[] = [];
      for (let minute = 1; minute <= minutes; minute += 1) {
        for (let i = 0; i < perMinute; i += 1) {
          await throttle.recordFailure(`nobody-${randomBytes(6).toString('hex')}@example.com`);
        }
        clock.advanceMs(60_000);
        if ((minute * 60_000) % PRUNE_INTERVAL_MS === 0) {
          await manual.tick();
          sizes.push(await db.loginThrottle.count());
        }
      }
      // Rows live one failure window after their last failure, plus at most one interval.
      const windowMinutes = config.auth.lockout.failureWindowSeconds / 60;
      const bound = perMinute * (windowMinutes + PRUNE_INTERVAL_MS / 60_000);
      expect(Math.max(...sizes)).toBeLessThanOrEqual(bound);
      expect(await db.loginThrottle.count()).toBeLessThan(perMinute * minutes);
      // It plateaued rather than grew: the last hour's sizes are all the same.
      expect(new Set(sizes.slice(-6)).size).toBe(1);
    } finally {
      await app.close();
    }
    // Closing the app stops the schedule.
    expect(manual.intervals()).toEqual([]);
  });
});

describe('schedulePruning', () => {
  it('runs every task, logs a failing one and runs it again at the next interval', async () => {
    const manual = manualTimers();
    const logs = new LogCapture();
    let flaky = 0;
    const ran: string[] = [];
    const schedule = schedulePruning({
      logger: createLogger({ level: 'debug', destination: logs }),
      timers: manual.timers,
      tasks: [
        {
          name: 'flaky',
          run: async () => {
            flaky += 1;
            if (flaky === 1) throw new Error('database went away');
            ran.push('flaky');
            return 0;
          },
        },
        {
          name: 'steady',
          run: async () => {
            ran.push('steady');
            return 3;
          },
        },
      ],
    });
    await manual.tick();
    expect(ran).toEqual(['steady']);
    expect(logs.lines).toContainEqual(expect.objectContaining({ level: 40, task: 'flaky' }));
    await manual.tick();
    expect(ran).toEqual(['steady', 'flaky', 'steady']);
    await schedule.stop();
    expect(manual.intervals()).toEqual([]);
  });

  it('does not start a second run while one is in progress', async () => {
    const manual = manualTimers();
    let release: () => void = () => {};
    let runs = 0;
    const schedule = schedulePruning({
      logger: createLogger({ level: 'silent' }),
      timers: manual.timers,
      tasks: [
        {
          name: 'slow',
          run: () => {
            runs += 1;
            return new Promise<number>((resolve) => {
              release = () => resolve(0);
            });
          },
        },
      ],
    });
    const first = schedule.runOnce();
    const second = schedule.runOnce();
    expect(second).toBe(first);
    release();
    await first;
    expect(runs).toBe(1);
    await schedule.stop();
  });
});
