import { createShutdown, ExitCode } from '@multiclaw/runtime/shutdown';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createTestApp } from '../test/support/app.js';

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

// The shutdown itself (in-flight requests finish, new connections are refused, the timeout,
// a second signal) is tested in packages/runtime/src/shutdown.test.ts; here, the cloud's part.
describe('graceful shutdown of the cloud', () => {
  it('closes the database pool with the server, then stops the embedded database', async () => {
    const steps: string[] = [];
    const { app, logs, databaseUrl, close } = await createTestApp();
    try {
      await app.listen({ host: '127.0.0.1', port: 0 });
      await app.inject({ method: 'GET', url: '/readyz' });
      expect(await connectionsTo(databaseUrl), 'control: the app holds a connection').toBeGreaterThan(0);

      const shutdown = createShutdown({
        app,
        logger: app.log,
        timeoutMs: 10_000,
        afterClose: [
          async () => {
            steps.push(`embedded database stopped, ${await connectionsTo(databaseUrl)} connections left`);
          },
        ],
      });
      expect(await shutdown('SIGTERM')).toBe(ExitCode.OK);
      // The app's database pool was closed before the cleanup ran: nothing is connected any more.
      expect(steps).toEqual(['embedded database stopped, 0 connections left']);
      expect(logs.lines.map((l) => l.msg)).toContain('shutdown complete');
    } finally {
      await close().catch(() => {});
    }
  });
});
