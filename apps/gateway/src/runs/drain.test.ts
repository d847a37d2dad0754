import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChatSendResult } from '@multiclaw/protocol';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { type FakeProvider, startFakeOpenAI, streamReply } from '../../test/fake-providers/index.js';
import { startTestGateway, type TestGateway } from '../../test/support/gateway.js';
import { connectControlClient, plainHistory } from '../../test/support/ws-client.js';

/**
 * Stopping the gateway (what SIGTERM does) while replies stream on both APIs:
 * each run is stopped, its reply stored whole as `interrupted`, and after a
 * restart the WebSocket run's idempotency key reports exactly that.
 */
let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

// A stream that never ends by itself: only stopping the gateway ends these runs.
const CHUNKS = Array.from({ length: 10_000 }, (_, index) => `t${index} `);

async function startGateway(provider: FakeProvider, stateDir: string): Promise<TestGateway> {
  return startTestGateway({
    stateDir,
    configure: (config) => ({
      ...config,
      agents: { list: [{ id: 'writer', name: 'Writer', model: 'up/model-x' }] },
      models: {
        providers: {
          up: { api: 'openai-completions', baseUrl: provider.baseUrl, allowedAgents: ['writer'] },
        },
      },
    }),
  });
}

describe('stopping the gateway mid-reply', () => {
  it('stores every streaming reply, of both APIs, whole and interrupted; the key then says interrupted', async () => {
    const provider = await startFakeOpenAI(streamReply(CHUNKS, { chunkDelayMs: 5 }));
    const stateDir = await mkdtemp(join(tmpdir(), 'gw-drain-'));
    cleanups.push(async () => {
      await provider.close();
      await rm(stateDir, { recursive: true, force: true });
    });
    const first = await startGateway(provider, stateDir);
    const { client } = await connectControlClient(first.url, first.token);
    const sent = await client.request('chat.send', {
      agentId: 'writer',
      sessionKey: 'drain',
      message: 'go on',
      idempotencyKey: 'drain-test-key',
    });
    const { sessionKey } = sent.ok ? (sent.payload as ChatSendResult) : { sessionKey: undefined };
    expect(sessionKey).toBe('agent:writer:drain');
    const wsDeltas = () =>
      client.events.filter(
        (event) => event.event === 'chat' && (event.payload as { state: string }).state === 'delta',
      ).length;

    const openai = new OpenAI({ baseURL: `${first.url}/v1`, apiKey: first.token, maxRetries: 0 });
    const stream = await openai.chat.completions.create({
      model: 'writer',
      messages: [{ role: 'user', content: 'and on' }],
      stream: true,
    });
    let received = '';
    const reading = (async () => {
      for await (const chunk of stream) received += chunk.choices[0]?.delta.content ?? '';
    })().catch((error: unknown) => error);
    await client.nextEvent(() => wsDeltas() >= 5);
    while (received.length < 20) await new Promise((resolve) => setImmediate(resolve));

    await first.gateway.close();
    const failure = await reading;
    expect(failure).toBeInstanceOf(OpenAI.APIError);
    expect((failure as Error).message).toMatch(/gateway stopped while this reply was streaming/);
    client.close();

    const second = await startGateway(provider, stateDir);
    cleanups.push(() => second.gateway.close());
    const { client: after } = await connectControlClient(second.url, second.token);
    const wsMessages = await plainHistory(after, sessionKey);
    expect(wsMessages.map((message) => [message.role, message.status])).toEqual([
      ['user', undefined],
      ['assistant', 'interrupted'],
    ]);
    expect(CHUNKS.join('').startsWith(wsMessages[1]?.content as string)).toBe(true);
    expect(wsMessages[1]?.content.length).toBeGreaterThan(0);

    const list = await after.request('sessions.list', {});
    const sessions = list.ok ? (list.payload as { sessions: { key: string }[] }).sessions : [];
    expect(sessions).toHaveLength(2);
    const openaiSession = sessions.find((session) => session.key !== sessionKey);
    expect(openaiSession?.key).toMatch(/^agent:writer:openai:[0-9a-f-]{36}$/);
    const openaiMessages = await plainHistory(after, openaiSession?.key);
    expect(openaiMessages.map((message) => [message.role, message.status])).toEqual([
      ['user', undefined],
      ['assistant', 'interrupted'],
    ]);
    expect(openaiMessages[1]?.content.startsWith(received)).toBe(true);

    const again = await after.request('chat.send', {
      agentId: 'writer',
      sessionKey: 'drain',
      message: 'go on',
      idempotencyKey: 'drain-test-key',
    });
    expect(again.ok && (again.payload as ChatSendResult).status).toBe('interrupted');
    after.close();
  }, 60_000); // ~2 s on an idle machine
});
