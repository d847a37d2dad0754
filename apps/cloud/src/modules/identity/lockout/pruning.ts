import type { FastifyBaseLogger, FastifyInstance } from 'fastify';

/** How often expired identity rows are deleted. */
export const PRUNE_INTERVAL_MS = 5 * 60 * 1000;

export type PruneTask = { name: string; run: () => Promise<number> };

/** The timer functions the schedule uses; tests pass their own to fire it by hand. */
export type IntervalTimers = {
  /** The callback returns the run it started, so a test can await it. */
  setInterval(callback: () => Promise<void>, ms: number): unknown;
  clearInterval(handle: unknown): void;
};

const realTimers: IntervalTimers = {
  setInterval: (callback, ms) => setInterval(callback, ms).unref(),
  clearInterval: (handle) => clearInterval(handle as NodeJS.Timeout),
};

/**
 * Runs each prune task every `intervalMs`. Without it, tables keyed by
 * whatever a client sends (`login_throttles` gets one row per email tried,
 * known or not) would grow without bound; with it they hold at most what
 * arrived within one failure window plus one interval. A run that is still
 * going when the next is due is not doubled; a failing task is logged and
 * tried again next time.
 */
export function schedulePruning(deps: {
  tasks: readonly PruneTask[];
  logger: FastifyBaseLogger;
  intervalMs?: number;
  timers?: IntervalTimers;
}) {
  const { tasks, logger, intervalMs = PRUNE_INTERVAL_MS, timers = realTimers } = deps;
  let running: Promise<void> | undefined;

  async function runAll(): Promise<void> {
    for (const task of tasks) {
      try {
        const deleted = await task.run();
        if (deleted > 0) logger.debug({ task: task.name, deleted }, 'pruned expired rows');
      } catch (error) {
        logger.warn({ err: error, task: task.name }, 'pruning failed; it runs again at the next interval');
      }
    }
  }

  function runOnce(): Promise<void> {
    running ??= runAll().finally(() => {
      running = undefined;
    });
    return running;
  }

  const handle = timers.setInterval(runOnce, intervalMs);
  return {
    runOnce,
    /** Stops the schedule and waits for a run in progress. */
    async stop(): Promise<void> {
      timers.clearInterval(handle);
      await running;
    },
  };
}

/**
 * The schedule for as long as the app runs: started when it is ready, stopped
 * (waiting for a run in progress) when it closes.
 */
export async function pruningPlugin(
  app: FastifyInstance,
  { tasks, timers }: { tasks: readonly PruneTask[]; timers?: IntervalTimers | undefined },
): Promise<void> {
  let schedule: ReturnType<typeof schedulePruning> | undefined;
  app.addHook('onReady', async () => {
    schedule = schedulePruning({ logger: app.log, tasks, ...(timers ? { timers } : {}) });
  });
  app.addHook('onClose', async () => {
    await schedule?.stop();
  });
}
