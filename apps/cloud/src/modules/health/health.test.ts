import { ErrorEnvelope } from '@multiclaw/protocol';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createTestApp } from '../../../test/support/app.js';

describe('health and readiness', () => {
  it('healthz and readyz answer 200 with the database up', async () => {
    const { app, close } = await createTestApp();
    try {
      expect((await app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' });
      const ready = await app.inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode).toBe(200);
      expect(ready.json()).toEqual({ status: 'ready' });
    } finally {
      await close();
    }
  });

  it('readyz answers 503 once the database goes away; healthz stays 200', async () => {
    const { app, databaseUrl, close } = await createTestApp();
    try {
      expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
      // Take the database away underneath the running app.
      const admin = new pg.Client({
        connectionString: databaseUrl.replace(/\/[^/?]+(\?.*)?$/, '/postgres$1'),
      });
      await admin.connect();
      const name = new URL(databaseUrl).pathname.slice(1);
      await admin.query(`DROP DATABASE "${name}" WITH (FORCE)`);
      await admin.end();

      const ready = await app.inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode).toBe(503);
      expect(ErrorEnvelope.parse(ready.json()).error.code).toBe('SERVICE_UNAVAILABLE');
      expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    } finally {
      await close().catch(() => {});
    }
  });

  it('readyz answers 503 when the database never answered', async () => {
    const { app, close } = await createTestApp({ databaseUrl: 'postgresql://nobody@127.0.0.1:1/nothing' });
    try {
      const ready = await app.inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode).toBe(503);
      expect(ready.json().error.code).toBe('SERVICE_UNAVAILABLE');
    } finally {
      await close();
    }
  });
});
