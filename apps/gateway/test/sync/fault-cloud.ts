/**
 * The cloud side of the sync fault suite: an embedded PostgreSQL the suite
 * owns (behind a fault proxy, so the cloud keeps one database URL while the
 * server restarts on a new port), and the REAL cloud in this process in front
 * of it, restartable on a fixed port. The link reaches it only through a
 * second fault proxy, whose URL is the cloud's public URL (the link's
 * assertions name it as their audience).
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import {
  applyMigrations,
  buildApp,
  createLogger,
  createPrismaClient,
  type Database,
  loadConfig,
  startEmbeddedPostgres,
} from '@multiclaw/cloud';
import { freePort } from '@multiclaw/test-support/ports';
import { type FaultProxy, startFaultProxy } from './fault-proxy.js';

export interface FaultCloud {
  /** What the gateway links to: the link proxy. */
  url: string;
  /** The cloud itself, for the person's own requests (not through the faults). */
  directUrl: string;
  linkProxy: FaultProxy;
  databaseProxy: FaultProxy;
  /** A client of the cloud's database (through the database proxy), for checking what it holds. */
  db: Database;
  restartCloud(): Promise<void>;
  restartPostgres(): Promise<void>;
  close(): Promise<void>;
}

export async function startFaultCloud(root: string, options: { heartbeatMs: number }): Promise<FaultCloud> {
  const dataDir = join(root, 'postgres');
  let postgres = await startEmbeddedPostgres({ dataDir });
  const portOf = (url: string) => Number(new URL(url).port);
  let postgresPort = portOf(postgres.url);
  const databaseProxy = await startFaultProxy(() => postgresPort);
  const viaProxy = new URL(postgres.url);
  viaProxy.port = String(databaseProxy.port);
  const databaseUrl = viaProxy.toString();
  await applyMigrations({ databaseUrl });

  const cloudPort = await freePort();
  const linkProxy = await startFaultProxy(() => cloudPort);
  const config = loadConfig({
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: String(cloudPort),
    PUBLIC_URL: linkProxy.url,
    DATABASE_URL: databaseUrl,
    EVENT_BUS: 'memory',
    MULTICLAW_MASTER_KEYS: `1:${randomBytes(32).toString('base64')}`,
    MULTICLAW_TOKEN_SIGNING_KEYS: `k1:${randomBytes(32).toString('base64')}`,
    MULTICLAW_CLOUD_STATE_DIR: join(root, 'cloud-state'),
    AUTH_RATE_LIMIT_MAX: '10000',
    LOG_LEVEL: 'silent',
  });
  let app: Awaited<ReturnType<typeof buildApp>> | undefined;
  const start = async () => {
    const built = await buildApp({
      config,
      db: createPrismaClient(databaseUrl),
      logger: createLogger({ service: 'multiclaw-cloud', level: 'silent' }),
      gatewayLink: { heartbeatMs: options.heartbeatMs },
    });
    await built.listen({ host: '127.0.0.1', port: cloudPort });
    app = built;
  };
  const stop = async () => {
    const running = app;
    app = undefined;
    await running?.close();
  };
  await start();
  const db = createPrismaClient(databaseUrl);
  return {
    url: linkProxy.url,
    directUrl: `http://127.0.0.1:${cloudPort}`,
    linkProxy,
    databaseProxy,
    db,
    async restartCloud() {
      await stop();
      await start();
    },
    async restartPostgres() {
      await postgres.stop();
      postgres = await startEmbeddedPostgres({ dataDir });
      postgresPort = portOf(postgres.url);
    },
    async close() {
      await stop();
      await db.$disconnect();
      await linkProxy.close();
      await databaseProxy.close();
      await postgres.stop();
    },
  };
}
