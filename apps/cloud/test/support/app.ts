import { Writable } from 'node:stream';
import { createLogger } from '@multiclaw/runtime/logger';
import { afterAll, beforeAll } from 'vitest';
import { type BuildAppOptions, buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createPrismaClient } from '../../src/db/client.js';
import { createTestDatabase } from '../database.js';
import { validEnv } from './env.js';

/** Collects every log line the app writes, parsed, for assertions on logging. */
export class LogCapture extends Writable {
  readonly lines: Array<Record<string, unknown>> = [];
  readonly raw: string[] = [];
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    const text = chunk.toString('utf8');
    this.raw.push(text);
    for (const line of text.split('\n').filter(Boolean)) this.lines.push(JSON.parse(line));
    callback();
  }
}

type TestAppOptions = {
  env?: Record<string, string | undefined>;
  databaseUrl?: string;
  now?: BuildAppOptions['now'];
  gatewayLink?: BuildAppOptions['gatewayLink'];
  beforeReady?: (app: Awaited<ReturnType<typeof buildApp>>) => void | Promise<void>;
};

/**
 * A real app on its own fresh database (cloned from the migrated template),
 * with logs captured in memory. Closes the app and drops the database after.
 */
export async function createTestApp(options: TestAppOptions = {}) {
  const database = options.databaseUrl ? undefined : await createTestDatabase();
  const databaseUrl = options.databaseUrl ?? (database as { url: string }).url;
  const config = loadConfig(validEnv({ DATABASE_URL: databaseUrl, LOG_LEVEL: 'info', ...options.env }));
  const logs = new LogCapture();
  const logger = createLogger({ service: 'multiclaw-cloud', level: config.logLevel, destination: logs });
  const app = await buildApp({
    config,
    db: createPrismaClient(databaseUrl),
    logger,
    ...(options.now ? { now: options.now } : {}),
    ...(options.gatewayLink ? { gatewayLink: options.gatewayLink } : {}),
  });
  await options.beforeReady?.(app);
  await app.ready();
  return {
    app,
    config,
    logs,
    databaseUrl,
    async close() {
      await app.close();
      await database?.drop();
    },
  };
}

/** Registers one app per test file, built before and torn down after. */
export function useTestApp(options: TestAppOptions = {}) {
  let current: Awaited<ReturnType<typeof createTestApp>> | undefined;
  beforeAll(async () => {
    current = await createTestApp(options);
  });
  afterAll(async () => {
    await current?.close();
  });
  return () => {
    if (!current) throw new Error('test app not ready');
    return current;
  };
}
