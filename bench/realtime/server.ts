import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import { buildApp, createLogger, createPrismaClient, loadConfig } from '@multiclaw/cloud';
import { type WebSocket, WebSocketServer } from 'ws';
import { type FromServer, type ServerMode, type ToServer, wallMs } from './ipc.js';

/**
 * The server side of bench/realtime, in a process of its own: the cloud
 * (buildApp with the environment the driver passed, EVENT_BUS included) or a
 * bare `ws` server that does the same fan-out with nothing else (no auth, no
 * membership, no bus). Either publishes the driver's event stream itself, so
 * the latency measured is from the publish call to the client's receipt.
 */
const mode = process.argv[2] as ServerMode;
const reply = (message: FromServer) => process.send?.(message);
const gc = (globalThis as { gc?: () => void }).gc;

type Fanout = { publish(workspaceId: string, seq: number): Promise<void> | void; close(): Promise<void> };

async function startCloud(): Promise<{ port: number } & Fanout> {
  const config = loadConfig(process.env);
  const db = createPrismaClient(config.databaseUrl);
  const app = await buildApp({ config, db, logger: createLogger({ level: 'silent' }) });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const agentId = randomUUID();
  return {
    port: (app.server.address() as AddressInfo).port,
    publish: (workspaceId, seq) =>
      app.bus.publish({
        type: 'realtime',
        event: { workspaceId, kind: 'agent.changed', at: new Date().toISOString(), agentId, lastSeq: seq },
      }),
    close: () => app.close(),
  };
}

/** The baseline: a socket says which workspace it wants; an event goes to that workspace's sockets. */
async function startBare(): Promise<{ port: number } & Fanout> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((resolve) => server.once('listening', resolve));
  const audiences = new Map<string, Set<WebSocket>>();
  server.on('connection', (socket) => {
    socket.once('message', (data) => {
      const { workspaceId } = JSON.parse(String(data)) as { workspaceId: string };
      const audience = audiences.get(workspaceId) ?? new Set<WebSocket>();
      audiences.set(workspaceId, audience);
      audience.add(socket);
      socket.on('close', () => audience.delete(socket));
      socket.send('{"type":"ok"}');
    });
  });
  const agentId = randomUUID();
  return {
    port: (server.address() as AddressInfo).port,
    publish(workspaceId, seq) {
      const event = {
        workspaceId,
        kind: 'agent.changed',
        at: new Date().toISOString(),
        agentId,
        lastSeq: seq,
      };
      const frame = JSON.stringify({ v: 1, type: 'realtime.event', payload: event });
      for (const socket of audiences.get(workspaceId) ?? []) socket.send(frame);
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** `eventsPerSecond` in total, round robin over the workspaces, paced against the clock (not per tick). */
async function publishStream(fanout: Fanout, command: Extract<ToServer, { type: 'publish' }>) {
  const { workspaceIds, eventsPerSecond, seconds, warmupSeconds } = command;
  const total = Math.round(eventsPerSecond * (seconds + warmupSeconds));
  const firstMeasuredSeq = Math.round(eventsPerSecond * warmupSeconds);
  const sentAt: number[] = [];
  const start = wallMs();
  let seq = 0;
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const due = Math.min(total, Math.floor(((wallMs() - start) / 1000) * eventsPerSecond));
      for (; seq < due; seq++) {
        sentAt[seq] = wallMs();
        void fanout.publish(workspaceIds[seq % workspaceIds.length] as string, seq);
      }
      if (seq >= total) {
        clearInterval(tick);
        resolve();
      }
    }, 2);
  });
  return { sentAt: sentAt.slice(firstMeasuredSeq), firstMeasuredSeq };
}

const fanout = mode === 'cloud' ? await startCloud() : await startBare();
reply({ type: 'listening', port: fanout.port });

process.on('message', async (command: ToServer) => {
  if (command.type === 'memory') {
    gc?.();
    gc?.();
    const { rss, heapUsed, heapTotal, external } = process.memoryUsage();
    // For finding what a socket keeps: a heap snapshot at every measurement (a profiling aid, off by default).
    const snapshots = process.env.BENCH_REALTIME_HEAP_SNAPSHOTS;
    if (snapshots) writeHeapSnapshot(join(snapshots, `${mode}-${Date.now()}.heapsnapshot`));
    reply({
      type: 'memory',
      rssBytes: rss,
      heapUsedBytes: heapUsed,
      heapTotalBytes: heapTotal,
      externalBytes: external,
    });
  } else if (command.type === 'publish') {
    const { sentAt, firstMeasuredSeq } = await publishStream(fanout, command);
    reply({ type: 'published', sentAt, firstMeasuredSeq });
  } else if (command.type === 'stop') {
    await fanout.close();
    process.exit(0);
  }
});
