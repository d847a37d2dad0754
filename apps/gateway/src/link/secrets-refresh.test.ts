import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Agent,
  CloudToGateway,
  encodeWsMessage,
  GatewayToCloud,
  parseWsMessage,
} from '@multiclaw/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { generateDeviceKey, identityPaths, saveIdentity } from './identity.js';
import { LinkService } from './link-service.js';
import { WorkspaceAgents } from './workspace-agents.js';

/**
 * The values a gateway holds are the answer to the LATEST `config.agents`: a
 * secret rotated in the workspace sends a new `config.agents`, and an answer
 * to the fetch made for the older one, landing late, must not overwrite the
 * rotated value. A wire-faithful cloud on a real WebSocket (the catalog's
 * frames) that answers the older fetch last when two are outstanding.
 */

let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

const SECRET_ID = randomUUID();
const at = new Date().toISOString();
const agent = (version: number): Agent => ({
  id: '7d0f7a4e-9f55-4c48-9a53-0a4f5b1f2c11',
  name: 'Researcher',
  description: null,
  provider: 'openai',
  model: 'gpt-test',
  systemPrompt: '',
  params: {},
  tools: [],
  secretIds: [SECRET_ID],
  version,
  createdAt: at,
  updatedAt: at,
});

async function fakeCloud() {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const sockets: WebSocket[] = [];
  /** The value the vault holds now: a fetch is answered with the value at the time it arrived. */
  let value = 'sk-old';
  const waiting: { id: string; value: string }[] = [];
  let fetches = 0;
  const answer = (socket: WebSocket, request: { id: string; value: string }) =>
    socket.send(
      encodeWsMessage(
        CloudToGateway,
        'secrets.value',
        {
          secrets: [
            { id: SECRET_ID, name: 'MODEL_KEY', version: 1, agentIds: [agent(1).id], value: request.value },
          ],
        },
        request.id,
      ),
    );
  server.on('connection', (socket) => {
    sockets.push(socket);
    socket.on('message', (data) => {
      const frame = parseWsMessage(GatewayToCloud, data.toString());
      if (frame.type !== 'secrets.fetch' || !frame.id) return;
      fetches += 1;
      waiting.push({ id: frame.id, value });
      if (waiting.length === 2) {
        // Two outstanding: the newer answer first, the older one late.
        const [older, newer] = waiting.splice(0) as [
          { id: string; value: string },
          { id: string; value: string },
        ];
        answer(socket, newer);
        answer(socket, older);
      } else if (fetches > 1 || value !== 'sk-old') {
        // A fetch made after the rotation, alone: answered at once.
        answer(socket, waiting.shift() as { id: string; value: string });
      }
    });
    socket.send(
      encodeWsMessage(CloudToGateway, 'link.ready', {
        version: 1,
        gatewayId: randomUUID(),
        workspaceId: randomUUID(),
        authExpiresAt: new Date(Date.now() + 60_000).toISOString(),
        heartbeatMs: 10_000,
      }),
    );
    socket.send(encodeWsMessage(CloudToGateway, 'config.agents', { version: 1, agents: [agent(1)] }));
  });
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.terminate();
        server.close(() => resolve());
      }),
  );
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    fetches: () => fetches,
    /** The secret is rotated: the vault holds a new value, and the workspace's config version moves. */
    rotate(newValue: string) {
      value = newValue;
      for (const socket of sockets)
        socket.send(encodeWsMessage(CloudToGateway, 'config.agents', { version: 2, agents: [agent(1)] }));
    },
    /** Answers a fetch still waiting (there is only one). */
    answerWaiting() {
      const request = waiting.shift();
      if (request) for (const socket of sockets) answer(socket, request);
    },
  };
}

describe('granted values after a rotation', () => {
  it('hold the answer to the latest config.agents, even when an older answer lands later', async () => {
    const cloud = await fakeCloud();
    const dir = await mkdtemp(join(tmpdir(), 'mc-secrets-refresh-'));
    const workspaceAgents = new WorkspaceAgents();
    const lines: string[] = [];
    const link = new LinkService({
      identity: identityPaths(dir),
      workspaceAgents,
      openSocket: (url, options) => new WebSocket(url, options),
      log: { info: (_fields, message) => lines.push(message), warn: () => {}, error: () => {} },
      pollMs: 60_000,
    });
    cleanups.push(async () => {
      await link.close();
      await rm(dir, { recursive: true, force: true });
    });
    await saveIdentity(identityPaths(dir), generateDeviceKey().privateKey, {
      version: 1,
      cloudUrl: cloud.url,
      gatewayId: randomUUID(),
      workspaceId: randomUUID(),
      linkedAt: new Date().toISOString(),
    });
    await link.start();
    // The first fetch (for version 1) is on its way, its answer held back by the cloud.
    await expect.poll(() => cloud.fetches(), { timeout: 20_000 }).toBe(1);
    cloud.rotate('sk-new');
    // The gateway took version 2 in; a fetch it made for it at once reaches the cloud in a moment.
    await expect.poll(() => lines.some((line) => line.includes('version 2')), { timeout: 20_000 }).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 300));
    // However the two fetches interleave, the gateway ends up with the rotated value.
    await expect
      .poll(
        () => {
          cloud.answerWaiting();
          return workspaceAgents.secret(SECRET_ID)?.value;
        },
        { timeout: 20_000, interval: 100 },
      )
      .toBe('sk-new');
    // And stays with it: no late answer replaces it.
    await expect.poll(() => cloud.fetches(), { timeout: 20_000 }).toBe(2);
    cloud.answerWaiting();
    await link.close();
    expect(workspaceAgents.secret(SECRET_ID)?.value).toBe('sk-new');
  }, 60_000);
});
