/**
 * The sync fault suite (issue 14): tens of thousands of messages over many
 * conversations sync from a gateway process to the real cloud while the suite
 * SIGKILLs the gateway (mid-batch: it sends while it writes), restarts the
 * cloud, restarts the PostgreSQL server it owns, and breaks the link's TCP
 * connections through a proxy it controls (reset, stall, half-open: the cloud
 * applies a batch whose ack never arrives). At the end the cloud holds exactly
 * the gateway's messages: none lost, none twice, each conversation in order,
 * every content byte for byte.
 *
 * Bounded by default (20,000 messages, 18 faults); SYNC_FAULTS_MESSAGES and
 * SYNC_FAULTS_FAULTS make a longer run, e.g. 200000 and 120.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LoginResponse, Page, TranscriptMessage } from '@multiclaw/protocol';
import { createLogger } from '@multiclaw/runtime/logger';
import { jsonCaller } from '@multiclaw/test-support/json-http';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { delay, spawnTs, type TsChild } from '../../test/crash/harness.js';
import { cliInProcess } from '../../test/support/cli.js';
import { type FaultCloud, startFaultCloud } from '../../test/sync/fault-cloud.js';
import { ConfigFile } from '../config/config-file.js';
import { resolveGatewayPaths } from '../config/paths.js';
import { startGateway } from '../gateway.js';
import { LocalStore } from '../store/local-store.js';

const MESSAGES = Number(process.env.SYNC_FAULTS_MESSAGES ?? 20_000);
const FAULTS = Number(process.env.SYNC_FAULTS_FAULTS ?? 18);
const CONVERSATIONS = 60;
const FAULT_KINDS = [
  'kill gateway',
  'restart cloud',
  'restart postgres',
  'reset',
  'stall',
  'half-open',
] as const;

let root: string;
let cloud: FaultCloud;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'gw-sync-faults-'));
  // A 1 s heartbeat: a stalled or half-open connection is given up after 3 s, not 30.
  cloud = await startFaultCloud(root, { heartbeatMs: 1000 });
}, 180_000);
afterAll(async () => {
  await cloud?.close();
  await rm(root, { recursive: true, force: true });
}, 120_000);

const call = jsonCaller(() => cloud.directUrl);

const signIn = async (person: { email: string; password: string }) =>
  LoginResponse.parse(await call('POST', '/v1/auth/login', undefined, person)).accessToken;

/**
 * A person with a workspace, and a gateway state directory linked to it
 * through the link proxy, whose local agent `main` is opted in to sync.
 */
async function linkedStateDir(name: string) {
  const person = { email: `${name}@example.com`, password: 'sync fault suite passphrase 9' };
  await call('POST', '/v1/auth/register', undefined, person);
  const token = await signIn(person);
  const { id: wid } = await call<{ id: string }>('POST', '/v1/workspaces', token, { name });
  const stateDir = join(root, `gateway-${name}`);
  const paths = resolveGatewayPaths({ OPENCLAW_STATE_DIR: stateDir });
  await (await ConfigFile.open(paths)).update((current) => ({
    ...current,
    agents: { list: [{ id: 'main', name: 'Main', model: 'none/none' }] },
    sync: { agents: ['main'] },
  }));
  const { code } = await call<{ code: string }>(
    'POST',
    `/v1/workspaces/${wid}/gateway-enrollments`,
    token,
    {},
  );
  const env = { OPENCLAW_STATE_DIR: stateDir, HOME: stateDir, PATH: process.env.PATH ?? '' };
  const linked = await cliInProcess(['link', '--cloud', cloud.url, '--code', code], env);
  expect(linked.code, linked.stderr).toBe(0);
  return { person, wid, stateDir, paths };
}

/** What the cloud's database holds: per conversation (by the gateway's id), its message ids in seq order. */
async function cloudHolds(): Promise<Map<string, { ids: string[]; seqs: number[]; lastSeq: number }>> {
  const rows = await cloud.db.$queryRaw<
    Array<{ external_id: string; last_seq: number; ids: string[]; seqs: number[] }>
  >`SELECT c.external_id, c.last_seq,
           COALESCE(array_agg(m.id::text ORDER BY m.seq) FILTER (WHERE m.id IS NOT NULL), '{}') AS ids,
           COALESCE(array_agg(m.seq ORDER BY m.seq) FILTER (WHERE m.id IS NOT NULL), '{}') AS seqs
      FROM conversations c LEFT JOIN messages m ON m.conversation_id = c.id
     GROUP BY c.id`;
  return new Map(
    rows.map((row) => [row.external_id, { ids: row.ids, seqs: row.seqs, lastSeq: Number(row.last_seq) }]),
  );
}

async function cloudMessageCount(): Promise<number> {
  const [row] = await cloud.db.$queryRaw<Array<{ count: bigint }>>`SELECT count(*) AS count FROM messages`;
  return Number(row?.count ?? 0);
}

describe('sync under faults', () => {
  it(`${MESSAGES} messages over ${CONVERSATIONS} conversations arrive exactly once, in order, through ${FAULTS} faults`, async () => {
    const { person, wid, stateDir, paths } = await linkedStateDir('faults');

    const startGatewayProcess = async () => {
      const child = spawnTs('../sync/sync-gateway-child.ts', [
        stateDir,
        String(CONVERSATIONS),
        String(MESSAGES),
        // Writing lasts about as long as the faults: they fall while messages arrive.
        String(Math.ceil(MESSAGES / (FAULTS * 1.2))),
      ]);
      await child.waitForLine((line) => line === 'ready');
      return child;
    };
    let gateway: TsChild = await startGatewayProcess();
    const done: Record<(typeof FAULT_KINDS)[number], number> = {
      'kill gateway': 0,
      'restart cloud': 0,
      'restart postgres': 0,
      reset: 0,
      stall: 0,
      'half-open': 0,
    };
    const started = performance.now();
    try {
      // FAULTS faults while the gateway writes, then one of each kind more after it has written everything,
      // while the cloud is still catching up: a batch lost there has no later message to carry it along.
      const heldBefore: number[] = [];
      let afterWritten = 0;
      for (let fault = 0; fault < FAULTS || afterWritten < FAULT_KINDS.length; fault++) {
        await delay(400 + Math.random() * 1600);
        const held = await cloudMessageCount().catch(() => -1);
        if (fault >= FAULTS && held >= MESSAGES) break;
        heldBefore.push(held);
        if (gateway.lines.includes('written')) afterWritten++;
        const kind = FAULT_KINDS[fault % FAULT_KINDS.length] as (typeof FAULT_KINDS)[number];
        switch (kind) {
          case 'kill gateway':
            await gateway.kill();
            expect((await gateway.exited).signal).toBe('SIGKILL');
            gateway = await startGatewayProcess();
            break;
          case 'restart cloud':
            await cloud.restartCloud();
            break;
          case 'restart postgres':
            await cloud.restartPostgres();
            break;
          case 'reset':
            cloud.linkProxy.drop();
            break;
          case 'stall':
            cloud.linkProxy.stall();
            break;
          case 'half-open':
            cloud.linkProxy.halfOpen();
            break;
        }
        done[kind]++;
      }
      // Not hollow: the faults fell while messages were still arriving.
      expect(heldBefore.filter((count) => count >= 0 && count < MESSAGES).length).toBeGreaterThan(FAULTS / 2);

      await gateway.waitForLine((line) => line === 'written');
      const giveUp = Date.now() + 300_000;
      while ((await cloudMessageCount()) < MESSAGES) {
        if (Date.now() > giveUp)
          throw new Error(`the cloud holds ${await cloudMessageCount()} of ${MESSAGES}`);
        await delay(250);
      }
      const convergedMs = performance.now() - started;
      await gateway.kill();

      // The gateway's store, as the truth.
      const store = await LocalStore.open(paths.storeDir, { warn: () => {} });
      try {
        const local = new Map<string, { ids: string[]; contents: string[] }>();
        for (const record of store.conversationRecords()) {
          const { messageCount } = await store.getSession(record.id);
          const messages = await store.readMessages(record.id, 1, messageCount);
          local.set(record.id, { ids: messages.map((m) => m.id), contents: messages.map((m) => m.content) });
        }
        expect([...local.values()].reduce((sum, c) => sum + c.ids.length, 0)).toBe(MESSAGES);

        const held = await cloudHolds();
        expect([...held.keys()].sort()).toEqual([...local.keys()].sort());
        for (const [id, conversation] of local) {
          const inCloud = held.get(id);
          expect(inCloud?.ids, `conversation ${id}`).toEqual(conversation.ids);
          expect(inCloud?.seqs).toEqual(conversation.ids.map((_, index) => index + 1));
          expect(inCloud?.lastSeq).toBe(conversation.ids.length);
        }
        expect(await cloudMessageCount()).toBe(MESSAGES);

        // Every content byte for byte, decrypted by the cloud's transcripts API.
        const token = await signIn(person);
        const { items } = await call<{ items: Array<{ id: string; messageCount: number }> }>(
          'GET',
          `/v1/workspaces/${wid}/conversations?limit=100`,
          token,
        );
        expect(items).toHaveLength(CONVERSATIONS);
        const contents = new Map(
          [...local.values()].flatMap((c) => c.ids.map((id, index) => [id, c.contents[index]])),
        );
        let compared = 0;
        for (const conversation of items) {
          for (let after = 0; after < conversation.messageCount; after += 100) {
            const page = Page(TranscriptMessage).parse(
              await call(
                'GET',
                `/v1/workspaces/${wid}/conversations/${conversation.id}/messages?after=${after}&limit=100`,
                token,
              ),
            );
            for (const message of page.items) {
              expect(message.content).toBe(contents.get(message.id));
              compared++;
            }
          }
        }
        expect(compared).toBe(MESSAGES);
        console.log(
          `sync faults: ${MESSAGES} messages in ${CONVERSATIONS} conversations, faults ${JSON.stringify(done)}, ` +
            `${afterWritten} after the last message was written, converged ${Math.round(convergedMs / 1000)} s after the first message; ` +
            '0 lost, 0 duplicated, order intact',
        );
      } finally {
        await store.close();
      }
    } finally {
      await gateway.kill();
    }
  }, 900_000);

  it('a batch swallowed by a stalled connection is sent again after the reconnect, even with nothing after it', async () => {
    const { paths } = await linkedStateDir('stall');
    const gateway = await startGateway({
      paths,
      log: createLogger({ service: 'multiclaw-gateway', level: 'silent' }),
      port: 0,
    });
    try {
      await vi.waitFor(() => expect(gateway.link.status().state).toBe('online'), {
        timeout: 60_000,
        interval: 100,
      });
      const reconnects = cloud.linkProxy.accepted;
      // The only batch this conversation will ever need goes into a connection that moves nothing.
      cloud.linkProxy.stall();
      const { key } = await gateway.store.createSession('main', 'the last words');
      const id = gateway.store.sessionIdOf(key);
      await gateway.store.appendMessages(
        key,
        Array.from({ length: 10 }, (_, index) => ({
          id: randomUUID(),
          role: 'user' as const,
          content: `last words ${index}`,
          createdAt: new Date().toISOString(),
        })),
      );
      await vi.waitFor(async () => expect((await cloudHolds()).get(id)?.ids).toHaveLength(10), {
        timeout: 60_000,
        interval: 200,
      });
      // It did go through a new connection (the stalled one was given up on), and is held once.
      expect(cloud.linkProxy.accepted).toBeGreaterThan(reconnects);
      expect((await cloudHolds()).get(id)?.seqs).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    } finally {
      await gateway.close();
    }
  }, 180_000);
});
