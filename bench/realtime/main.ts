import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAccessTokens, createPrismaClient, type Database, loadConfig } from '@multiclaw/cloud';
import { benchDatabase } from '../lib/database.js';
import { envNumber } from '../lib/measure.js';
import {
  type FromClients,
  type FromServer,
  request,
  type ServerMode,
  type SocketPlan,
  type ToClients,
  type ToServer,
} from './ipc.js';

/**
 * Real-time fan-out (issue 14): SOCKETS desktops spread over WORKSPACES
 * workspaces, EVENTS_PER_SECOND events in total, each to its workspace's
 * sockets. Delivery latency (publish call → frame received, p50/p99) of the
 * cloud's GET /v1/realtime (signed-in sockets, membership filter, the event
 * bus named by EVENT_BUS) against a bare `ws` server doing the same fan-out
 * with nothing else, in the same run; then the server's RSS per idle socket
 * at IDLE_SOCKETS sockets, cloud against bare. Server, clients and this
 * driver are three processes.
 */
const seconds = envNumber('BENCH_SECONDS', 10);
const warmupSeconds = 2;
const socketCount = envNumber('BENCH_REALTIME_SOCKETS', 1_000);
const workspaceCount = envNumber('BENCH_REALTIME_WORKSPACES', 100);
const eventsPerSecond = envNumber('BENCH_REALTIME_EVENTS_PER_SECOND', 1_000);
const idleSockets = envNumber('BENCH_REALTIME_IDLE_SOCKETS', 10_000);
const buses = (process.env.BENCH_REALTIME_BUSES ?? 'postgres,memory').split(',').filter(Boolean);
const connectConcurrency = 50;
const warmupSockets = 200;

const database = await benchDatabase();
const stateDir = mkdtempSync(join(tmpdir(), 'multiclaw-bench-realtime-'));
const cloudEnv: Record<string, string> = {
  NODE_ENV: 'test',
  DATABASE_URL: database.url,
  MULTICLAW_MASTER_KEYS: `1:${randomBytes(32).toString('base64')}`,
  MULTICLAW_TOKEN_SIGNING_KEYS: `bench:${randomBytes(32).toString('base64')}`,
  MULTICLAW_CLOUD_STATE_DIR: stateDir,
  LOG_LEVEL: 'silent',
  // Every socket comes from 127.0.0.1: the per-client upgrade budget must not be what is measured.
  AUTH_RATE_LIMIT_MAX: '100000',
};
const config = loadConfig(cloudEnv);
const tokens = createAccessTokens({
  keyring: config.signingKeys,
  issuer: config.publicUrl,
  ttlSeconds: 600,
  now: () => new Date(),
});
const db = createPrismaClient(database.url);

/** Workspaces of equal size, their members (the first an owner), one user per socket. */
async function seedPeople(db: Database) {
  const workspaceIds = Array.from({ length: workspaceCount }, () => randomUUID());
  const users = Array.from({ length: socketCount }, (_, i) => ({
    id: randomUUID(),
    workspaceId: workspaceIds[i % workspaceCount] as string,
    role: i < workspaceCount ? ('owner' as const) : ('member' as const),
  }));
  await db.workspace.createMany({ data: workspaceIds.map((id, i) => ({ id, name: `bench ${i}` })) });
  await db.user.createMany({ data: users.map((u) => ({ id: u.id, email: `${u.id}@bench.example` })) });
  await db.membership.createMany({
    data: users.map((u) => ({ workspaceId: u.workspaceId, userId: u.id, role: u.role })),
  });
  return { workspaceIds, users };
}

/** `count` fresh sessions round robin over the users, each with its signed access token. */
async function socketPlans(
  users: Array<{ id: string; workspaceId: string }>,
  count: number,
): Promise<SocketPlan[]> {
  const now = Date.now();
  const sessions = Array.from({ length: count }, (_, i) => ({
    id: randomUUID(),
    user: users[i % users.length] as (typeof users)[number],
  }));
  for (let i = 0; i < sessions.length; i += 5_000) {
    await db.session.createMany({
      data: sessions.slice(i, i + 5_000).map((s) => ({
        id: s.id,
        userId: s.user.id,
        idleExpiresAt: new Date(now + 3_600_000),
        absoluteExpiresAt: new Date(now + 3_600_000),
      })),
    });
  }
  return Promise.all(
    sessions.map(async (s) => ({
      workspaceId: s.user.workspaceId,
      accessToken: await tokens.sign({ userId: s.user.id, sessionId: s.id }),
    })),
  );
}

function spawn(file: string, args: string[], env: Record<string, string> = {}): ChildProcess {
  return fork(new URL(file, import.meta.url), args, {
    execArgv: ['--import', 'tsx', '--expose-gc'],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

async function startServer(mode: ServerMode, bus?: string) {
  const child = spawn(
    './server.ts',
    [mode],
    mode === 'cloud' ? { ...cloudEnv, EVENT_BUS: bus ?? 'postgres' } : {},
  );
  const { port } = await new Promise<Extract<FromServer, { type: 'listening' }>>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${mode} server exited (${code})`)));
    child.on('message', (m: FromServer) => m.type === 'listening' && resolve(m));
  });
  const url = mode === 'cloud' ? `ws://127.0.0.1:${port}/v1/realtime` : `ws://127.0.0.1:${port}`;
  return {
    url,
    ask: <T extends FromServer['type']>(message: ToServer, reply: T) =>
      request<Extract<FromServer, { type: T }>>(child, message, reply),
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.send({ type: 'stop' } satisfies ToServer);
      await exited;
    },
  };
}

async function startClients(url: string, mode: ServerMode, sockets: SocketPlan[]) {
  const child = spawn('./clients.ts', []);
  const ask = <T extends FromClients['type']>(message: ToClients, reply: T) =>
    request<Extract<FromClients, { type: T }>>(child, message, reply);
  const connected = await ask(
    { type: 'connect', url, mode, sockets, concurrency: connectConcurrency },
    'connected',
  );
  return {
    connected,
    ask,
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.send({ type: 'close' } satisfies ToClients);
      await exited;
    },
  };
}

const round = (value: number, places = 2) => Math.round(value * 10 ** places) / 10 ** places;

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function latencyRun(
  name: string,
  mode: ServerMode,
  plans: SocketPlan[],
  workspaceIds: string[],
  bus?: string,
) {
  const server = await startServer(mode, bus);
  const clients = await startClients(server.url, mode, plans);
  const published = await server.ask(
    { type: 'publish', workspaceIds, eventsPerSecond, seconds, warmupSeconds },
    'published',
  );
  // Let the last frames land before asking.
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const report = await clients.ask({ type: 'report' }, 'report');
  await clients.stop();
  await server.stop();

  const latencies: number[] = [];
  for (let i = 0; i < report.seqs.length; i++) {
    const index = (report.seqs[i] as number) - published.firstMeasuredSeq;
    const sentAt = published.sentAt[index];
    if (index >= 0 && sentAt !== undefined) latencies.push((report.receivedAt[i] as number) - sentAt);
  }
  const sorted = Float64Array.from(latencies).sort();
  const perWorkspace = plans.length / workspaceIds.length;
  return {
    name,
    connectSeconds: round(clients.connected.seconds),
    events: published.sentAt.length,
    expectedDeliveries: Math.round(published.sentAt.length * perWorkspace),
    deliveries: sorted.length,
    p50Ms: round(percentile(sorted, 50), 3),
    p99Ms: round(percentile(sorted, 99), 3),
    maxMs: round(sorted[sorted.length - 1] ?? Number.NaN, 3),
  };
}

async function idleRun(name: string, mode: ServerMode, plans: SocketPlan[], bus?: string) {
  const server = await startServer(mode, bus);
  // A first round of sockets loads and compiles what signing in uses (modules, source maps,
  // JIT code): once per process, not per socket, so it is done before the measurement.
  const warmup = await startClients(server.url, mode, plans.splice(0, warmupSockets));
  await warmup.stop();
  const before = await server.ask({ type: 'memory' }, 'memory');
  const clients = await startClients(server.url, mode, plans);
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const after = await server.ask({ type: 'memory' }, 'memory');
  await clients.stop();
  await server.stop();
  const perSocket = (after.rssBytes - before.rssBytes) / clients.connected.count;
  return {
    name,
    sockets: clients.connected.count,
    connectSeconds: round(clients.connected.seconds),
    rssBeforeMiB: round(before.rssBytes / 2 ** 20, 1),
    rssAfterMiB: round(after.rssBytes / 2 ** 20, 1),
    bytesPerSocket: Math.round(perSocket),
    // What the JavaScript heap keeps per socket, apart from RSS's high-water marks.
    heapBytesPerSocket: Math.round((after.heapUsedBytes - before.heapUsedBytes) / clients.connected.count),
    // The heap V8 holds (used or not: RSS counts it) and memory outside it (buffers), per socket.
    heapTotalBytesPerSocket: Math.round(
      (after.heapTotalBytes - before.heapTotalBytes) / clients.connected.count,
    ),
    externalBytesPerSocket: Math.round(
      (after.externalBytes - before.externalBytes) / clients.connected.count,
    ),
  };
}

try {
  const { workspaceIds, users } = await seedPeople(db);

  const baseline = await latencyRun(
    'bare ws server, same fan-out',
    'bare',
    await socketPlans(users, socketCount),
    workspaceIds,
  );
  const subjects = [];
  for (const bus of buses) {
    const run = await latencyRun(
      `GET /v1/realtime, EVENT_BUS=${bus}`,
      'cloud',
      await socketPlans(users, socketCount),
      workspaceIds,
      bus,
    );
    subjects.push({
      ...run,
      ratioP50: round(run.p50Ms / baseline.p50Ms, 2),
      ratioP99: round(run.p99Ms / baseline.p99Ms, 2),
    });
  }

  const idlePlans = () => socketPlans(users, warmupSockets + idleSockets);
  const idleBaseline = await idleRun('bare ws server', 'bare', await idlePlans());
  const idleCloud = await idleRun(
    'GET /v1/realtime (signed in, idle)',
    'cloud',
    await idlePlans(),
    'postgres',
  );

  console.log(
    JSON.stringify(
      {
        benchmark: 'realtime',
        params: {
          seconds,
          warmupSeconds,
          sockets: socketCount,
          workspaces: workspaceCount,
          eventsPerSecond,
          idleSockets,
        },
        latency: { baseline, subjects },
        idleMemory: {
          baseline: idleBaseline,
          subject: idleCloud,
          ratio: round(idleCloud.bytesPerSocket / idleBaseline.bytesPerSocket, 2),
          heapRatio: round(idleCloud.heapBytesPerSocket / idleBaseline.heapBytesPerSocket, 2),
        },
      },
      null,
      2,
    ),
  );
} finally {
  await db.$disconnect();
  await database.stop();
  rmSync(stateDir, { recursive: true, force: true });
}
