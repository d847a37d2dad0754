/**
 * The sync end to end: a gateway linked to the REAL cloud (in this process,
 * on its own PostgreSQL database) over the real link. Conversations run with
 * a workspace agent and written for an opted-in local agent reach the
 * workspace's transcripts API exactly as the gateway holds them, once each —
 * across the cloud going away mid-sync — and nothing else does; a
 * conversation deleted in the cloud is not brought back by later messages.
 */
import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConversationSummary, GatewayStatus, Page, TranscriptMessage } from '@multiclaw/protocol';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type FakeProvider, startFakeOpenAI, streamReply } from '../../test/fake-providers/index.js';
import { cliInProcess } from '../../test/support/cli.js';
import { startTestCloud, type TestCloud } from '../../test/support/cloud.js';
import { startTestGateway, type TestGateway } from '../../test/support/gateway.js';
import type { LocalStore } from '../store/local-store.js';

/** Generous: a loaded 2-core machine. */
const WITHIN = { timeout: 60_000, interval: 200 };
const SECRET = `sk-workspace-${randomUUID()}`;

let cloud: TestCloud;
let model: FakeProvider;

beforeAll(async () => {
  cloud = await startTestCloud();
  model = await startFakeOpenAI(streamReply(['Noted ', 'for ', 'the ', 'team']), { apiKey: SECRET });
}, 120_000);
afterAll(async () => {
  await model?.close();
  await cloud?.drop();
}, 120_000);

async function get<T>(path: string, token: string, schema: { parse(value: unknown): T }): Promise<T> {
  const response = await fetch(`${cloud.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  if (!response.ok) throw new Error(`GET ${path}: HTTP ${response.status} ${await response.text()}`);
  return schema.parse(await response.json());
}

/** Every conversation the workspace holds, and every message of each, through the transcripts API. */
async function cloudTranscripts(token: string, wid: string) {
  const conversations: ConversationSummary[] = [];
  let cursor: string | undefined;
  do {
    const page = await get(
      `/v1/workspaces/${wid}/conversations?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      token,
      Page(ConversationSummary),
    );
    conversations.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  const messages = new Map<string, TranscriptMessage[]>();
  for (const conversation of conversations) {
    const all: TranscriptMessage[] = [];
    for (;;) {
      const page = await get(
        `/v1/workspaces/${wid}/conversations/${conversation.id}/messages?after=${all.at(-1)?.seq ?? 0}&limit=100`,
        token,
        Page(TranscriptMessage),
      );
      all.push(...page.items);
      if (page.items.length < 100) break;
    }
    messages.set(conversation.id, all);
  }
  return { conversations, messages };
}

/** What the gateway holds of the conversations of `agentIds`, as the transcripts API shows messages. */
async function localTranscripts(store: LocalStore, agentIds: string[]) {
  const result = new Map<string, { agentId: string; title: string; messages: TranscriptMessage[] }>();
  for (const record of store.conversationRecords()) {
    if (!agentIds.includes(record.agentId)) continue;
    const { messageCount } = await store.getSession(record.id);
    const stored = messageCount ? await store.readMessages(record.id, 1, messageCount) : [];
    result.set(record.id, {
      agentId: record.agentId,
      title: record.title,
      messages: stored.map(({ id, seq, role, content, createdAt, status }) => ({
        id,
        seq,
        role,
        content,
        createdAt,
        ...(status ? { status } : {}),
      })),
    });
  }
  return result;
}

/** The cloud's transcripts, keyed like the gateway's (by each conversation's first message id). */
function byFirstMessage(transcripts: Awaited<ReturnType<typeof cloudTranscripts>>) {
  return new Map(
    transcripts.conversations.map((conversation) => {
      const messages = transcripts.messages.get(conversation.id) ?? [];
      return [messages[0]?.id, { agentId: conversation.agentId, title: conversation.title, messages }];
    }),
  );
}

/** A running gateway (local agents `main`, opted in, and `scratch`) linked to `wid`, online, holding its workspace agents. */
async function linkedGateway(
  owner: { token: string },
  wid: string,
  workspaceAgents = 1,
): Promise<TestGateway> {
  const test = await startTestGateway({
    configure: (config) => ({
      ...config,
      agents: {
        list: [
          { id: 'main', name: 'Main', model: 'openai-compatible/gpt-test' },
          { id: 'scratch', name: 'Scratch', model: 'openai-compatible/gpt-test' },
        ],
      },
      models: {
        providers: {
          'openai-compatible': { api: 'openai-completions', baseUrl: model.baseUrl, allowedAgents: [] },
        },
      },
      sync: { agents: ['main'] },
    }),
  });
  const configPath = join(test.stateDir, 'openclaw.json');
  const config = JSON.parse(await readFile(configPath, 'utf8'));
  await writeFile(configPath, JSON.stringify({ ...config, gateway: { ...config.gateway, port: test.port } }));
  const env = { OPENCLAW_STATE_DIR: test.stateDir, HOME: test.stateDir, PATH: process.env.PATH ?? '' };
  const code = await cloud.api.enrollmentCode(owner.token, wid);
  const linked = await cliInProcess(['link', '--cloud', cloud.url, '--code', code, '--name', 'laptop'], env);
  expect(linked.code, linked.stderr).toBe(0);
  await vi.waitFor(() => expect(test.gateway.link.status().state).toBe('online'), WITHIN);
  await vi.waitFor(() => expect(test.gateway.link.status().workspaceAgents).toBe(workspaceAgents), WITHIN);
  return test;
}

async function gatewayStatus(test: TestGateway): Promise<GatewayStatus> {
  const response = await fetch(`${test.url}/v1/gateway/status`, { headers: test.authHeaders });
  expect(response.status).toBe(200);
  return GatewayStatus.parse(await response.json());
}

async function complete(test: TestGateway, agentId: string, question: string): Promise<void> {
  const response = await fetch(`${test.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { ...test.authHeaders, 'content-type': 'application/json' },
    body: JSON.stringify({ model: agentId, messages: [{ role: 'user', content: question }] }),
  });
  expect(response.status, await response.clone().text()).toBe(200);
  await response.text();
}

let clock = Date.parse('2026-11-20T09:00:00Z');
async function writeConversation(store: LocalStore, agentId: string, count: number, title: string) {
  const { key } = await store.createSession(agentId, title);
  for (let start = 0; start < count; start += 100) {
    const drafts = Array.from({ length: Math.min(100, count - start) }, (_, index) => {
      clock += 1000;
      const n = start + index;
      return n % 2
        ? {
            id: randomUUID(),
            role: 'assistant' as const,
            content: `answer ${n} ✓ "quoted"\n`,
            createdAt: new Date(clock).toISOString(),
            status: 'complete' as const,
          }
        : {
            id: randomUUID(),
            role: 'user' as const,
            content: `question ${n}`,
            createdAt: new Date(clock).toISOString(),
          };
    });
    await store.appendMessages(key, drafts);
  }
  return store.sessionIdOf(key);
}

describe('transcript sync over the real link', () => {
  it('brings every conversation in scope to the workspace exactly once, across a cloud restart, and nothing else', async () => {
    const owner = await cloud.api.signUp();
    const wid = await cloud.api.workspace(owner.token);
    const agent = await cloud.api.agent(owner.token, wid, {
      name: 'Researcher',
      provider: 'openai-compatible',
      model: 'gpt-test',
    });
    await cloud.api.secret(owner.token, wid, { name: 'MODEL_KEY', value: SECRET, agentIds: [agent.id] });
    const test = await linkedGateway(owner, wid);
    try {
      const { store } = test.gateway;
      // Runs with the workspace agent, through the gateway's own API.
      // The agent's credential follows its config over the link: the first run waits for it.
      await vi.waitFor(() => complete(test, agent.id, 'What changed?'), WITHIN);
      for (const question of ['Who owns it?', 'When is it due?']) await complete(test, agent.id, question);
      // An opted-in local agent's backlog, and a local agent that was not opted in.
      await writeConversation(store, 'main', 700, 'local, opted in');
      await writeConversation(store, 'scratch', 40, 'local, private');

      // The cloud goes away mid-sync and comes back; more is written meanwhile.
      await cloud.stop();
      const during = await writeConversation(store, 'main', 450, 'written while the cloud was away');
      // What waits is reported, over HTTP and by the CLI.
      await vi.waitFor(async () => {
        const { sync } = await gatewayStatus(test);
        expect(sync?.state).toBe('offline');
        expect(sync?.pending).toBeGreaterThanOrEqual(450);
      }, WITHIN);
      await cloud.start();
      await writeConversation(store, 'main', 30, 'after');

      const expected = await localTranscripts(store, [agent.id, 'main']);
      expect(expected.size).toBe(6);
      await vi.waitFor(async () => {
        const held = await cloudTranscripts(owner.token, wid);
        expect(held.conversations.map((c) => c.messageCount).sort()).toEqual(
          [...expected.values()].map((c) => c.messages.length).sort(),
        );
      }, WITHIN);

      const held = byFirstMessage(await cloudTranscripts(owner.token, wid));
      expect(held.size).toBe(6);
      for (const conversation of expected.values()) {
        const inCloud = held.get(conversation.messages[0]?.id);
        expect(inCloud?.agentId).toBe(conversation.agentId);
        expect(inCloud?.title).toBe(conversation.title);
        expect(inCloud?.messages).toEqual(conversation.messages);
      }
      const workspaceRuns = [...expected.values()].filter((c) => c.agentId === agent.id);
      expect(workspaceRuns.map((c) => c.messages.map((m) => [m.role, m.status]))).toEqual(
        Array(3).fill([
          ['user', undefined],
          ['assistant', 'complete'],
        ]),
      );
      expect(test.gateway.sync.status()).toMatchObject({
        state: 'up to date',
        pending: 0,
        workspaceId: wid,
      });
      const { sync } = await gatewayStatus(test);
      expect(sync).toMatchObject({
        state: 'up to date',
        pending: 0,
        pendingConversations: 0,
        workspaceId: wid,
      });
      expect(Date.parse(sync?.lastAckAt ?? '')).toBeGreaterThan(Date.now() - 120_000);
      const env = { OPENCLAW_STATE_DIR: test.stateDir, HOME: test.stateDir, PATH: process.env.PATH ?? '' };
      const cli = await cliInProcess(['status', '--json'], env);
      expect(JSON.parse(cli.stdout).sync).toEqual(sync);
      expect((await cliInProcess(['status'], env)).stdout).toContain(
        'transcript sync: up to date, 0 message(s)',
      );

      // Deleted in the workspace: later messages do not bring it back; the local copy stays.
      const deleted = [...(await cloudTranscripts(owner.token, wid)).conversations].find(
        (c) => c.title === 'written while the cloud was away',
      );
      const response = await fetch(`${cloud.url}/v1/workspaces/${wid}/conversations/${deleted?.id}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${owner.token}` },
      });
      expect(response.status).toBe(204);
      await store.appendMessages(during, [
        { id: randomUUID(), role: 'user', content: 'still here?', createdAt: new Date().toISOString() },
      ]);
      await vi.waitFor(
        () =>
          expect(test.logs.map((line) => line.msg)).toContain(
            `sync: conversation ${during} was deleted in the workspace; it is no longer synced (the local copy stays)`,
          ),
        WITHIN,
      );
      const after = await cloudTranscripts(owner.token, wid);
      expect(after.conversations.map((c) => c.title)).not.toContain('written while the cloud was away');
      expect(after.conversations).toHaveLength(5);
      expect((await store.getSession(during)).messageCount).toBe(451);
    } finally {
      await test.close();
    }
  }, 240_000);

  // A re-link enrolls a NEW gateway id; the cloud names a conversation by (workspace, person, the gateway's
  // own id for it), so the resend continues the conversation it holds. The gateway's cursor log for the workspace
  // stayed on disk, so only what is new goes (nothing acked is sent again).
  it('re-linking to the same workspace sends only what is new, into the same conversations', async () => {
    const owner = await cloud.api.signUp();
    const wid = await cloud.api.workspace(owner.token);
    const test = await linkedGateway(owner, wid, 0);
    try {
      const { store } = test.gateway;
      const id = await writeConversation(store, 'main', 20, 'kept across re-link');
      await vi.waitFor(async () => {
        const held = await cloudTranscripts(owner.token, wid);
        expect(held.conversations.map((c) => c.messageCount)).toEqual([20]);
      }, WITHIN);

      const env = { OPENCLAW_STATE_DIR: test.stateDir, HOME: test.stateDir, PATH: process.env.PATH ?? '' };
      const unlinked = await cliInProcess(['unlink'], env);
      expect(unlinked.code, unlinked.stderr).toBe(0);
      await vi.waitFor(() => expect(test.gateway.sync.status().state).toBe('not linked'), WITHIN);
      await store.appendMessages(id, [
        { id: randomUUID(), role: 'user', content: 'after re-link', createdAt: new Date().toISOString() },
      ]);
      const before = (await cloudTranscripts(owner.token, wid)).conversations;
      const firstGateway = test.gateway.link.status().gatewayId;
      // Every batch the gateway sends after the re-link.
      const sent = vi.spyOn(test.gateway.link, 'request');
      const code = await cloud.api.enrollmentCode(owner.token, wid);
      const linked = await cliInProcess(['link', '--cloud', cloud.url, '--code', code], env);
      expect(linked.code, linked.stderr).toBe(0);

      await vi.waitFor(
        async () => {
          const held = await cloudTranscripts(owner.token, wid);
          expect(held.conversations.map((c) => c.messageCount)).toEqual([21]);
        },
        { timeout: 20_000, interval: 200 },
      );
      await vi.waitFor(
        () => expect(test.gateway.sync.status()).toMatchObject({ state: 'up to date' }),
        WITHIN,
      );
      const after = (await cloudTranscripts(owner.token, wid)).conversations;
      expect(after.map((c) => c.id)).toEqual(before.map((c) => c.id));
      expect(after[0]?.gatewayId).toBe(test.gateway.link.status().gatewayId);
      expect(after[0]?.gatewayId).not.toBe(firstGateway);
      const resent = sent.mock.calls.flatMap(([, batch]) =>
        batch.conversations.flatMap((c) => c.messages.map((m) => m.seq)),
      );
      expect(resent).toEqual([21]);
    } finally {
      await test.close();
    }
  }, 240_000);
});
