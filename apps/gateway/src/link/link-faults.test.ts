/**
 * The link's own timing against the REAL cloud: a connection that goes silent
 * (a stalled TCP path, no FIN) is caught by the heartbeat and replaced; the
 * assertion is refreshed before it expires, with a fresh single-use jti each
 * time (counted in the cloud's database); a gateway revoked while away finds
 * the door shut on its next connection.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPrismaClient } from '@multiclaw/cloud';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestCloud, type TestCloud } from '../../test/support/cloud.js';
import { startStallProxy } from '../../test/support/stall-proxy.js';
import { createEgress } from '../egress/egress.js';
import { enrollGateway } from './enroll.js';
import { identityPaths, saveLinkState } from './identity.js';
import { LinkService } from './link-service.js';
import { type LinkTimers, realTimers } from './link-timers.js';
import { WorkspaceAgents } from './workspace-agents.js';

const WITHIN = { timeout: 30_000, interval: 50 };
/** The cloud's heartbeat in this file: quick, so silence is noticed in about 3 s (a loaded machine is not silence). */
const HEARTBEAT_MS = 1_000;

let cloud: TestCloud;
let proxy: Awaited<ReturnType<typeof startStallProxy>>;
let cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  let cloudPort = 0;
  proxy = await startStallProxy(() => cloudPort);
  cloud = await startTestCloud({ heartbeatMs: HEARTBEAT_MS, publicUrl: proxy.url });
  cloudPort = cloud.port;
}, 120_000);
afterAll(async () => {
  await proxy?.close();
  await cloud?.drop();
});
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

/** A gateway identity enrolled with a real code, and a link service for it (not started). */
async function linkedService(timers: LinkTimers = realTimers) {
  const owner = await cloud.api.signUp();
  const wid = await cloud.api.workspace(owner.token);
  const stateDir = await mkdtemp(join(tmpdir(), 'mc-link-faults-'));
  const identity = identityPaths(stateDir);
  const egressFor = (origin: string) =>
    createEgress({ allowedOrigins: () => [origin], log: { warn: () => {} } });
  // Enrolled straight with the cloud (a pooled HTTP connection through the proxy would be stalled
  // with the link's), then pointed at the proxy, which is the cloud's public URL here.
  const direct = await enrollGateway({
    identity,
    cloud: `http://127.0.0.1:${cloud.port}`,
    code: await cloud.api.enrollmentCode(owner.token, wid),
    egressFor,
  });
  const state = { ...direct, cloudUrl: proxy.url };
  await saveLinkState(identity, state);
  const lines: string[] = [];
  const record = (_fields: object, message: string) => {
    lines.push(message);
  };
  const egress = egressFor(new URL(proxy.url).origin);
  const service = new LinkService({
    identity,
    workspaceAgents: new WorkspaceAgents(),
    openSocket: (url, options) => egress.websocket(url, options),
    log: { info: record, warn: record, error: record },
    timers,
    pollMs: 200,
  });
  cleanups.push(async () => {
    await service.close();
    await rm(stateDir, { recursive: true, force: true });
  });
  return { service, state, owner, wid, lines };
}

describe('the link’s timing against the real cloud', () => {
  it('catches a silent connection (stalled, no FIN) by its heartbeat and reconnects', async () => {
    const { service, lines } = await linkedService();
    await service.start();
    await vi.waitFor(() => expect(service.status().state).toBe('online'), WITHIN);
    const connections = proxy.accepted;

    proxy.stall();
    await vi.waitFor(() => expect(service.status().state).toBe('offline'), WITHIN);
    expect(service.status().reason).toMatch(/went silent/);
    await vi.waitFor(() => expect(service.status().state).toBe('online'), WITHIN);
    expect(proxy.accepted).toBeGreaterThan(connections);
    expect(lines.filter((line) => line.startsWith('cloud link offline'))).toHaveLength(1);
  });

  it('re-authenticates before each assertion expires, each time with a fresh jti, without reconnecting', async () => {
    // The gateway's long timers run 30× faster: re-auth comes every 1.5 s instead of 45 s, while
    // heartbeats, the assertions' clock and the cloud's stay real.
    const fast: LinkTimers = {
      ...realTimers,
      setTimeout: (callback, ms) => realTimers.setTimeout(callback, ms >= 20_000 ? ms / 30 : ms),
    };
    const { service, state, lines } = await linkedService(fast);
    await service.start();
    await vi.waitFor(() => expect(service.status().state).toBe('online'), WITHIN);
    const db = createPrismaClient(cloud.databaseUrl);
    try {
      const used = () => db.gatewayAssertionJti.count({ where: { gatewayId: state.gatewayId } });
      // One jti for the connection, then one per auth.refresh the cloud accepted.
      await vi.waitFor(async () => expect(await used(), lines.join('\n')).toBeGreaterThanOrEqual(4), {
        ...WITHIN,
        interval: 250,
      });
    } finally {
      await db.$disconnect();
    }
    expect(service.status().state).toBe('online');
    expect(lines.filter((line) => line.startsWith('cloud link online'))).toHaveLength(1);
    expect(lines.some((line) => line.startsWith('cloud link offline'))).toBe(false);
  });

  it('a gateway revoked while it was away is refused on its next connection and stops trying', async () => {
    const { service, state, owner, wid } = await linkedService();
    await cloud.api.revokeGateway(owner.token, wid, state.gatewayId);
    await service.start();
    await vi.waitFor(() => expect(service.status().state).toBe('revoked'), WITHIN);
    const connections = proxy.accepted;
    // No knocking again: a while later, still revoked, no new connection.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(service.status().state).toBe('revoked');
    expect(proxy.accepted).toBe(connections);
  });
});
