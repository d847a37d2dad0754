import type { Logger } from 'pino';
import { ExitCode } from './exit-codes.js';

export { ExitCode };

export interface ShutdownOptions {
  /** What serves: its close stops listening and waits for the work in flight (Fastify's close, a gateway's). */
  app: { close(): PromiseLike<unknown> };
  logger: Pick<Logger, 'info' | 'error'>;
  /** Past this, stop waiting for `app` and report EX_SOFTWARE. Without one, wait as long as closing takes. */
  timeoutMs?: number;
  /** Run after `app` has closed, in order, each even if an earlier one failed (e.g. stop the embedded database). */
  afterClose?: Array<() => Promise<void>>;
}

/**
 * Graceful shutdown: stop accepting connections, let the work in flight
 * finish, then run the remaining cleanup. Resolves to the exit code: 0, or
 * EX_SOFTWARE when closing failed or outlived the timeout. Calling it again
 * returns the same promise.
 */
export function createShutdown({
  app,
  logger,
  timeoutMs,
  afterClose = [],
}: ShutdownOptions): (reason: string) => Promise<number> {
  let pending: Promise<number> | undefined;
  return (reason) => {
    pending ??= (async () => {
      logger.info({ reason }, 'shutting down: no new connections, finishing the work in flight');
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => {
        if (timeoutMs !== undefined) timer = setTimeout(() => resolve('timeout'), timeoutMs);
      });
      let code: number = ExitCode.OK;
      try {
        const outcome = await Promise.race([
          Promise.resolve(app.close()).then(() => 'closed' as const),
          timedOut,
        ]);
        if (outcome === 'timeout') {
          logger.error({ timeoutMs }, 'shutdown timed out with work still in flight');
          code = ExitCode.SOFTWARE;
        }
      } catch (error) {
        logger.error({ err: error }, 'error while closing the server');
        code = ExitCode.SOFTWARE;
      } finally {
        clearTimeout(timer);
      }
      for (const step of afterClose) {
        try {
          await step();
        } catch (error) {
          logger.error({ err: error }, 'error during shutdown cleanup');
          code = ExitCode.SOFTWARE;
        }
      }
      logger.info({ exitCode: code }, 'shutdown complete');
      return code;
    })();
    return pending;
  };
}

/**
 * Runs `shutdown` on the first of `signals` (SIGTERM, SIGINT) and resolves
 * with its exit code. A second signal while it runs means "now": EX_SOFTWARE
 * at once. Its listeners are removed once it has resolved.
 */
export function shutdownOnSignals(
  shutdown: (reason: string) => Promise<number>,
  signals: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT'],
): Promise<number> {
  return new Promise<number>((resolve) => {
    let started = false;
    const finish = (code: number) => {
      for (const signal of signals) process.off(signal, onSignal);
      resolve(code);
    };
    function onSignal(signal: NodeJS.Signals) {
      if (started) return finish(ExitCode.SOFTWARE);
      started = true;
      void shutdown(signal).then(finish);
    }
    for (const signal of signals) process.on(signal, onSignal);
  });
}
