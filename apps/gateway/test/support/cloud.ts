import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyMigrations, buildApp, createLogger, createPrismaClient, loadConfig } from '@multiclaw/cloud';
import { type Agent, GatewayEnrollment, LoginResponse } from '@multiclaw/protocol';
import { jsonCaller } from '@multiclaw/test-support/json-http';
import { freePort } from '@multiclaw/test-support/ports';

/**
 * The REAL MultiClaw Cloud, in this process, on its own fresh PostgreSQL
 * database (created and migrated here, dropped on `drop`), listening on a
 * loopback port that survives `stop`/`start` (the cloud going away and
 * coming back). Server: TEST_DATABASE_URL, else DATABASE_URL, else
 * PostgreSQL on 127.0.0.1:5432 as postgres — as the cloud's own tests.
 */
export interface TestCloud {
  /** Where gateways link to: the cloud's PUBLIC_URL (its own port, or a proxy in front of it). */
  url: string;
  /** The port the cloud itself listens on. */
  port: number;
  databaseUrl: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Stops the cloud and drops its database. */
  drop(): Promise<void>;
  api: CloudApi;
}

const ADMIN_URL =
  process.env.TEST_DATABASE_URL ||
  process.env.DATABASE_URL ||
  'postgresql://postgres@127.0.0.1:5432/postgres';

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

export async function startTestCloud(
  options: {
    heartbeatMs?: number;
    publicUrl?: string;
    /** A port chosen beforehand (an OpenID provider must know the cloud's callback before it starts). */
    port?: number;
    /** More of the cloud's environment (OIDC_PROVIDERS…). */
    env?: Record<string, string>;
  } = {},
): Promise<TestCloud> {
  const name = `multiclaw_test_gwlink_${randomBytes(6).toString('hex')}`;
  const admin = createPrismaClient(ADMIN_URL);
  await admin.$executeRawUnsafe(`CREATE DATABASE "${name}"`);
  await admin.$disconnect();
  const databaseUrl = withDatabase(ADMIN_URL, name);
  await applyMigrations({ databaseUrl });
  const port = options.port ?? (await freePort());
  const url = options.publicUrl ?? `http://127.0.0.1:${port}`;
  const stateDir = await mkdtemp(join(tmpdir(), 'mc-gwlink-cloud-'));
  const config = loadConfig({
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: String(port),
    PUBLIC_URL: url,
    DATABASE_URL: databaseUrl,
    EVENT_BUS: 'memory',
    MULTICLAW_MASTER_KEYS: `1:${randomBytes(32).toString('base64')}`,
    MULTICLAW_TOKEN_SIGNING_KEYS: `k1:${randomBytes(32).toString('base64')}`,
    MULTICLAW_CLOUD_STATE_DIR: stateDir,
    AUTH_RATE_LIMIT_MAX: '10000',
    LOG_LEVEL: 'silent',
    ...options.env,
  });
  let app: Awaited<ReturnType<typeof buildApp>> | undefined;
  const cloud: TestCloud = {
    url,
    port,
    databaseUrl,
    async start() {
      if (app) return;
      const built = await buildApp({
        config,
        db: createPrismaClient(databaseUrl),
        logger: createLogger({ service: 'multiclaw-cloud', level: 'silent' }),
        ...(options.heartbeatMs ? { gatewayLink: { heartbeatMs: options.heartbeatMs } } : {}),
      });
      await built.listen({ host: '127.0.0.1', port });
      app = built;
    },
    async stop() {
      const running = app;
      app = undefined;
      await running?.close();
    },
    async drop() {
      await cloud.stop();
      const again = createPrismaClient(ADMIN_URL);
      await again.$executeRawUnsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await again.$disconnect();
      await rm(stateDir, { recursive: true, force: true });
    },
    // The person's requests go straight to the cloud, never through a proxy a test stalls.
    api: cloudApi(`http://127.0.0.1:${port}`),
  };
  await cloud.start();
  return cloud;
}

export type CloudApi = ReturnType<typeof cloudApi>;

/** What a person does in the cloud, over its real HTTP API. */
function cloudApi(base: string) {
  const call = jsonCaller(base);
  return {
    async signUp(): Promise<{ id: string; token: string }> {
      const payload = {
        email: `gw-${randomBytes(5).toString('hex')}@example.com`,
        password: 'gateway link passphrase 7',
      };
      await call('POST', '/v1/auth/register', undefined, payload);
      const login = LoginResponse.parse(await call('POST', '/v1/auth/login', undefined, payload));
      return { id: login.user.id, token: login.accessToken };
    },
    async workspace(token: string): Promise<string> {
      return (
        await call<{ id: string }>('POST', '/v1/workspaces', token, {
          name: `ws-${randomBytes(3).toString('hex')}`,
        })
      ).id;
    },
    agent(token: string, wid: string, body: Record<string, unknown>): Promise<Agent> {
      return call('POST', `/v1/workspaces/${wid}/agents`, token, body);
    },
    secret(
      token: string,
      wid: string,
      body: { name: string; value: string; agentIds: string[] },
    ): Promise<{ id: string }> {
      return call('POST', `/v1/workspaces/${wid}/secrets`, token, body);
    },
    async enrollmentCode(token: string, wid: string): Promise<string> {
      return GatewayEnrollment.parse(
        await call('POST', `/v1/workspaces/${wid}/gateway-enrollments`, token, {}),
      ).code;
    },
    removeMember(token: string, wid: string, userId: string): Promise<void> {
      return call('DELETE', `/v1/workspaces/${wid}/members/${userId}`, token);
    },
    revokeGateway(token: string, wid: string, gid: string): Promise<void> {
      return call('DELETE', `/v1/workspaces/${wid}/gateways/${gid}`, token);
    },
    gateways(
      token: string,
      wid: string,
    ): Promise<{ items: Array<{ id: string; online: boolean; revokedAt: string | null }> }> {
      return call('GET', `/v1/workspaces/${wid}/gateways`, token);
    },
  };
}
