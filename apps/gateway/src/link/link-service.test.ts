import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { generateDeviceKey, identityPaths, saveIdentity } from './identity.js';
import { LinkService } from './link-service.js';
import { WorkspaceAgents } from './workspace-agents.js';

let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

async function service() {
  const dir = await mkdtemp(join(tmpdir(), 'mc-link-service-'));
  const identity = identityPaths(dir);
  const opened: string[] = [];
  const lines: string[] = [];
  const record = (_fields: object, message: string) => {
    lines.push(message);
  };
  const link = new LinkService({
    identity,
    workspaceAgents: new WorkspaceAgents(),
    openSocket: (url) => {
      opened.push(url);
      throw new Error('no cloud in this test');
    },
    log: { info: record, warn: record, error: record },
    pollMs: 60_000,
  });
  cleanups.push(async () => {
    await link.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { link, identity, opened, lines };
}

const linkState = (overrides: Record<string, string> = {}) => ({
  version: 1 as const,
  cloudUrl: 'https://cloud.example.com',
  gatewayId: randomUUID(),
  workspaceId: randomUUID(),
  linkedAt: new Date().toISOString(),
  ...overrides,
});

describe('the link service without a cloud', () => {
  it('is "not linked" with no identity, and opens nothing', async () => {
    const { link, opened } = await service();
    await link.start();
    expect(link.status()).toMatchObject({ state: 'not linked' });
    expect(link.egressOrigins()).toEqual([]);
    expect(opened).toEqual([]);
  });

  it('a link state without its key is reported offline with the reason, not as unlinked', async () => {
    const { link, identity, opened } = await service();
    await saveIdentity(identity, generateDeviceKey().privateKey, linkState());
    await rm(identity.keyPath);
    await link.start();
    expect(link.status()).toMatchObject({ state: 'offline', reason: expect.stringContaining('device key') });
    expect(opened).toEqual([]);
  });

  it('a link the cloud revoked earlier stays revoked at start: no connection, no allowed destination', async () => {
    const { link, identity, opened } = await service();
    await saveIdentity(
      identity,
      generateDeviceKey().privateKey,
      linkState({ revokedAt: new Date().toISOString(), revokedReason: 'gateway revoked' }),
    );
    await link.start();
    expect(link.status()).toMatchObject({ state: 'revoked', reason: 'gateway revoked' });
    expect(link.egressOrigins()).toEqual([]);
    expect(opened).toEqual([]);
    await expect(link.request('sync.batch', { conversations: [] } as never)).rejects.toThrow(/revoked/);
  });

  it('a linked identity allows exactly the cloud’s origin and connects there', async () => {
    const { link, identity, opened } = await service();
    await saveIdentity(
      identity,
      generateDeviceKey().privateKey,
      linkState({ cloudUrl: 'https://cloud.example.com/mc' }),
    );
    await link.start();
    expect(link.egressOrigins()).toEqual(['https://cloud.example.com']);
    // Refused by the socket opener here, so it backs off and tries again: always the link URL, nothing else.
    await expect.poll(() => opened.length).toBeGreaterThanOrEqual(2);
    expect(new Set(opened)).toEqual(new Set(['wss://cloud.example.com/mc/v1/gateway-link']));
    expect(link.status()).toMatchObject({
      state: 'offline',
      reason: expect.stringContaining('reconnecting in'),
    });
  });
});
