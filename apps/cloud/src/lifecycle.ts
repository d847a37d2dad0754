import type { Logger } from 'pino';

/** Exit codes that mean something to an operator or a supervisor (sysexits.h). */
export const ExitCode = {
  OK: 0,
  /** A dependency (database, port) was unavailable at start-up. */
  UNAVAILABLE: 69,
  /** Unexpected failure, or shutdown did not finish within its timeout. */
  SOFTWARE: 70,
  /** The configuration was refused; the log names each variable. */
  CONFIG: 78,
} as const;

type ShutdownOptions = {
  /** The HTTP server to drain: Fastify's close stops listening and waits for in-flight requests. */
  app: { close(): PromiseLike<unknown> };
  logger: Pick<Logger, 'info' | 'error'>;
  timeoutMs: number;
  /** Run after the server has closed, in order (e.g. stop the embedded database). */
  afterClose?: Array<() => Promise<void>>;
};

/**
 * Graceful shutdown: stop accepting connections, let in-flight requests
 * finish (Fastify's close; the app's onClose hooks disconnect the database),
 * then run the remaining cleanup. Resolves to the exit code. Calling it again
 * returns the same promise.
 */
export function createShutdown({ app, logger, timeoutMs, afterClose = [] }: ShutdownOptions) {
  let pending: Promise<number> | undefined;
  return (reason: string): Promise<number> => {
    pending ??= (async () => {
      logger.info({ reason }, 'shutting down: no new connections, finishing in-flight requests');
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs);
      });
      let code: number = ExitCode.OK;
      try {
        const outcome = await Promise.race([
          Promise.resolve(app.close()).then(() => 'closed' as const),
          timedOut,
        ]);
        if (outcome === 'timeout') {
          logger.error({ timeoutMs }, 'shutdown timed out with requests still in flight');
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
