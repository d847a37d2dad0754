import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createShutdown, ExitCode } from '@multiclaw/runtime/shutdown';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createTestApp } from '../test/support/app.js';

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

/** A promise with its resolver outside, to hold a request open on purpose. */
function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Counts the sessions connected to one database, seen from another database. */
async function connectionsTo(databaseUrl: string): Promise<number> {
  const url = new URL(databaseUrl);
  const name = url.pathname.slice(1);
  url.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: url.toString() });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1',
      [name],
    );
    return rows[0]?.n ?? 0;
  } finally {
    await admin.end();
  }
}

describe('graceful shutdown', () => {
  it('stops accepting, finishes the request in flight, closes the database, then cleans up', async () => {
    const entered = deferred();
    const release = deferred();
    const cleanedUp: string[] = [];
    const { app, logs, databaseUrl, close } = await createTestApp({
      beforeReady: (app) => {
        app.get('/probe/slow', async () => {
          entered.resolve();
          await release.promise;
          return { finished: true };
        });
      },
    });
    try {
      await app.listen({ host: '127.0.0.1', port: 0 });
      const port = (app.server.address() as AddressInfo).port;
      const shutdown = createShutdown({
        app,
        logger: app.log,
        timeoutMs: 10_000,
        afterClose: [
          async () => {
            cleanedUp.push('embedded database stopped');
          },
        ],
      });

      await app.inject({ method: 'GET', url: '/readyz' });
      expect(await connectionsTo(databaseUrl), 'control: the app holds a connection').toBeGreaterThan(0);

      const inFlight = get(port, '/probe/slow');
      await entered.promise;
      const exitCode = shutdown('SIGTERM');

      // The listener is closed: a new connection is refused while the old request is still running.
      await expect
        .poll(() =>
          get(port, '/healthz').then(
            () => 'accepted',
            (error) => error.code,
          ),
        )
        .toBe('ECONNREFUSED');
      expect(cleanedUp).toEqual([]);

      release.resolve();
      expect(await inFlight).toEqual({ status: 200, body: '{"finished":true}' });
      expect(await exitCode).toBe(ExitCode.OK);
      expect(cleanedUp).toEqual(['embedded database stopped']);
      // The app's database pool was closed: nothing is connected to its database any more.
      expect(await connectionsTo(databaseUrl)).toBe(0);
      expect(logs.lines.map((l) => l.msg)).toContain('shutdown complete');
      expect(shutdown('SIGINT')).toBe(exitCode);
    } finally {
      release.resolve();
      await close().catch(() => {});
    }
  });

  it('exits with EX_SOFTWARE when a request outlives the timeout', async () => {
    const entered = deferred();
    const never = deferred();
    const { app, close } = await createTestApp({
      beforeReady: (app) => {
        app.get('/probe/stuck', async () => {
          entered.resolve();
          await never.promise;
          return {};
        });
      },
    });
    try {
      await app.listen({ host: '127.0.0.1', port: 0 });
      const port = (app.server.address() as AddressInfo).port;
      const stuck = get(port, '/probe/stuck').catch(() => undefined);
      await entered.promise;
      const code = await createShutdown({ app, logger: app.log, timeoutMs: 200 })('SIGTERM');
      expect(code).toBe(ExitCode.SOFTWARE);
      never.resolve();
      await stuck;
    } finally {
      never.resolve();
      await close().catch(() => {});
    }
  });
});
