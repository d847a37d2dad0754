import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import Fastify from 'fastify';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from './logger.js';
import { createShutdown, ExitCode, shutdownOnSignals } from './shutdown.js';

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.on('data', (chunk) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A promise with its resolver outside, to hold work open on purpose. */
function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

function memoryLogger() {
  const lines: { level: number; msg: string; [field: string]: unknown }[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: createLogger({ level: 'info', destination }), lines };
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** A listening Fastify app whose GET /slow stays in flight until `release` (also at the test's end). */
async function appWithSlowRoute() {
  const entered = deferred();
  const release = deferred();
  const app = Fastify();
  cleanups.push(
    () => release.resolve(),
    () => app.close(),
  );
  app.get('/slow', async () => {
    entered.resolve();
    await release.promise;
    return { finished: true };
  });
  app.get('/fast', async () => ({ fast: true }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return { app, port, entered: entered.promise, release: () => release.resolve() };
}

describe('createShutdown', () => {
  it('stops accepting, finishes the request in flight, then cleans up in order, once', async () => {
    const { app, port, entered, release } = await appWithSlowRoute();
    const steps: string[] = [];
    const { logger, lines } = memoryLogger();
    const shutdown = createShutdown({
      app: { close: () => app.close().then(() => steps.push('app closed')) },
      logger,
      timeoutMs: 20_000,
      afterClose: [
        async () => {
          steps.push('first cleanup');
        },
        async () => {
          steps.push('second cleanup');
        },
      ],
    });

    const inFlight = get(port, '/slow');
    await entered;
    const exitCode = shutdown('SIGTERM');
    // The listener is closed: a new connection is refused while the old request is still running.
    await expect
      .poll(() =>
        get(port, '/fast').then(
          () => 'accepted',
          (error) => error.code,
        ),
      )
      .toBe('ECONNREFUSED');
    expect(steps).toEqual([]);

    release();
    expect(await inFlight).toEqual({ status: 200, body: '{"finished":true}' });
    expect(await exitCode).toBe(ExitCode.OK);
    expect(steps).toEqual(['app closed', 'first cleanup', 'second cleanup']);
    expect(lines.map((line) => line.msg)).toContain('shutdown complete');
    expect(lines.find((line) => line.msg === 'shutdown complete')?.exitCode).toBe(0);
    expect(shutdown('SIGINT')).toBe(exitCode);
    expect(steps).toHaveLength(3);
  });

  it('exits with EX_SOFTWARE when a request outlives the timeout, and still cleans up', async () => {
    const { app, port, entered, release } = await appWithSlowRoute();
    const { logger, lines } = memoryLogger();
    const cleaned: string[] = [];
    const stuck = get(port, '/slow').catch(() => undefined);
    await entered;
    const code = await createShutdown({
      app,
      logger,
      timeoutMs: 200,
      afterClose: [async () => void cleaned.push('database stopped')],
    })('SIGTERM');
    expect(code).toBe(ExitCode.SOFTWARE);
    expect(cleaned).toEqual(['database stopped']);
    expect(lines.some((line) => line.level === 50 && line.timeoutMs === 200)).toBe(true);
    release();
    await stuck;
  });

  it('waits as long as closing takes when there is no timeout', async () => {
    const { logger } = memoryLogger();
    const closing = deferred();
    let settled = false;
    vi.useFakeTimers();
    try {
      const exitCode = createShutdown({ app: { close: () => closing.promise }, logger })('SIGTERM').then(
        (code) => {
          settled = true;
          return code;
        },
      );
      await vi.advanceTimersByTimeAsync(3_600_000);
      expect(settled).toBe(false);
      closing.resolve();
      expect(await exitCode).toBe(ExitCode.OK);
    } finally {
      vi.useRealTimers();
    }
  });

  it('reports a failed close or cleanup step with EX_SOFTWARE, running every later step', async () => {
    const { logger, lines } = memoryLogger();
    const steps: string[] = [];
    const code = await createShutdown({
      app: { close: () => Promise.reject(new Error('close failed')) },
      logger,
      afterClose: [
        () => Promise.reject(new Error('cleanup failed')),
        async () => {
          steps.push('last step ran');
        },
      ],
    })('SIGTERM');
    expect(code).toBe(ExitCode.SOFTWARE);
    expect(steps).toEqual(['last step ran']);
    expect(lines.filter((line) => line.level === 50).map((line) => line.msg)).toEqual([
      'error while closing the server',
      'error during shutdown cleanup',
    ]);
  });
});

describe('shutdownOnSignals', () => {
  // SIGUSR2 and SIGWINCH, not SIGTERM: a mistake here must not stop the test runner.
  const signals = ['SIGUSR2', 'SIGWINCH'] as const;

  it('shuts down on the first signal and resolves with its exit code, then stops listening', async () => {
    const before = signals.map((signal) => process.listenerCount(signal));
    const reasons: string[] = [];
    const exited = shutdownOnSignals(async (reason) => {
      reasons.push(reason);
      return ExitCode.OK;
    }, signals);
    process.kill(process.pid, 'SIGWINCH');
    expect(await exited).toBe(ExitCode.OK);
    expect(reasons).toEqual(['SIGWINCH']);
    expect(signals.map((signal) => process.listenerCount(signal))).toEqual(before);
  });

  it('a second signal while shutting down means now: EX_SOFTWARE at once', async () => {
    const closing = deferred<number>();
    const reasons: string[] = [];
    cleanups.push(() => closing.resolve(ExitCode.OK));
    const exited = shutdownOnSignals((reason) => {
      reasons.push(reason);
      return closing.promise;
    }, signals);
    process.kill(process.pid, 'SIGUSR2');
    await expect.poll(() => reasons).toEqual(['SIGUSR2']);
    process.kill(process.pid, 'SIGWINCH');
    expect(await exited).toBe(ExitCode.SOFTWARE);
    expect(reasons).toEqual(['SIGUSR2']);
  });
});
