import { randomUUID } from 'node:crypto';
import { StoredMessage } from '@multiclaw/protocol';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startFakeOpenAI, streamReply } from '../../test/fake-providers/index.js';
import { startTestGateway } from '../../test/support/gateway.js';
import { connectControlClient } from '../../test/support/ws-client.js';

/** The official `openai` npm client, pointed at the gateway, talking to a local agent. */
const PROVIDER_KEY = `sk-upstream-${randomUUID()}`;
/** A message as `chat.history` answers it (assistant text as OpenClaw's content parts). */
const HistoryMessage = z.object({
  role: StoredMessage.shape.role,
  content: z.union([z.string(), z.array(z.strictObject({ type: z.literal('text'), text: z.string() }))]),
  status: StoredMessage.shape.status,
});

let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

async function setup() {
  const upstream = await startFakeOpenAI(streamReply(['The ', 'answer ', 'is 42']), { apiKey: PROVIDER_KEY });
  const test = await startTestGateway({
    configure: (config) => ({
      ...config,
      agents: { list: [{ id: 'helper', name: 'Helper', model: 'up/model-x', systemPrompt: 'You help.' }] },
      models: {
        providers: {
          up: {
            api: 'openai-completions',
            baseUrl: upstream.baseUrl,
            apiKey: PROVIDER_KEY,
            allowedAgents: ['helper'],
          },
        },
      },
    }),
  });
  const client = new OpenAI({ baseURL: `${test.url}/v1`, apiKey: test.token, maxRetries: 0 });
  cleanups.push(async () => {
    await test.close();
    await upstream.close();
  });
  return { test, upstream, client };
}

describe('OpenAI-compatible API with the official openai client', () => {
  it('lists the local agents as models', async () => {
    const { client } = await setup();
    const models = await client.models.list();
    expect(models.data.map((model) => model.id)).toEqual(['helper']);
  });

  it('completes without streaming, and stores the exchange as a session', async () => {
    const { test, client, upstream } = await setup();
    const completion = await client.chat.completions.create({
      model: 'helper',
      messages: [{ role: 'user', content: 'What is the answer?' }],
    });
    expect(completion.object).toBe('chat.completion');
    expect(completion.choices[0]?.message).toMatchObject({ role: 'assistant', content: 'The answer is 42' });
    expect(completion.choices[0]?.finish_reason).toBe('stop');
    expect(completion.usage?.total_tokens).toBeGreaterThan(0);
    // The gateway spoke to the provider with the provider's key, never with the gateway token.
    expect(upstream.requests[0]?.headers.authorization).toBe(`Bearer ${PROVIDER_KEY}`);
    expect(upstream.requests[0]?.body).toMatchObject({
      model: 'model-x',
      messages: [
        { role: 'system', content: 'You help.' },
        { role: 'user', content: 'What is the answer?' },
      ],
    });

    const { client: control } = await connectControlClient(test.url, test.token);
    const list = (await control.request('sessions.list', { agentId: 'helper' })) as {
      payload: { sessions: { key: string; agentId: string; messageCount: number }[] };
    };
    expect(list.payload.sessions).toHaveLength(1);
    const session = list.payload.sessions[0];
    // A session of its own, named so it is never mistaken for one a chat client opened.
    expect(session).toMatchObject({ agentId: 'helper', messageCount: 2 });
    expect(session?.key).toMatch(/^agent:helper:openai:[0-9a-f-]{36}$/);
    const history = (await control.request('chat.history', { sessionKey: session?.key })) as {
      payload: { sessionKey: string; messages: unknown[] };
    };
    expect(history.payload.sessionKey).toBe(session?.key);
    const messages = history.payload.messages.map((message) => HistoryMessage.parse(message));
    expect(messages.map((m) => [m.role, m.content, m.status])).toEqual([
      ['user', 'What is the answer?', undefined],
      ['assistant', [{ type: 'text', text: 'The answer is 42' }], 'complete'],
    ]);
    control.close();
  });

  it('streams with SSE, chunk by chunk', async () => {
    const { client } = await setup();
    const stream = await client.chat.completions.create({
      model: 'helper',
      messages: [{ role: 'user', content: 'Stream it' }],
      stream: true,
    });
    const deltas: string[] = [];
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      expect(chunk.object).toBe('chat.completion.chunk');
      const content = chunk.choices[0]?.delta.content;
      if (content) deltas.push(content);
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(deltas).toEqual(['The ', 'answer ', 'is 42']);
    expect(finish).toBe('stop');
  });

  it('turns provider and gateway errors into the client’s error classes', async () => {
    const { client, upstream } = await setup();
    await expect(
      client.chat.completions.create({ model: 'nobody', messages: [{ role: 'user', content: 'x' }] }),
    ).rejects.toMatchObject({
      status: 404,
    });
    upstream.setScript({ kind: 'error', status: 429, headers: { 'retry-after': '9' } });
    const limited = client.chat.completions.create({
      model: 'helper',
      messages: [{ role: 'user', content: 'x' }],
      stream: true,
    });
    await expect(limited).rejects.toBeInstanceOf(OpenAI.RateLimitError);
    await expect(limited).rejects.toMatchObject({ status: 429, headers: expect.anything() });
    const wrongToken = new OpenAI({ baseURL: client.baseURL, apiKey: 'not-the-token', maxRetries: 0 });
    await expect(wrongToken.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it('raises a mid-stream provider failure through the streaming client', async () => {
    const { client, upstream } = await setup();
    upstream.setScript(streamReply(['par', 'tial'], { interrupt: { afterChunks: 1, action: 'close' } }));
    const stream = await client.chat.completions.create({
      model: 'helper',
      messages: [{ role: 'user', content: 'x' }],
      stream: true,
    });
    const received: string[] = [];
    await expect(
      (async () => {
        for await (const chunk of stream) received.push(chunk.choices[0]?.delta.content ?? '');
      })(),
    ).rejects.toThrow(/provider|connect|cut/i);
    expect(received.join('')).toBe('par');
  });
});
