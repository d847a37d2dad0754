import { randomUUID } from 'node:crypto';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeAnthropic, startFakeOpenAI, streamReply } from '../../test/fake-providers/index.js';
import { startTestGateway, type TestGateway } from '../../test/support/gateway.js';
import { connectControlClient } from '../../test/support/ws-client.js';

/**
 * The official `openai` client with its retries LEFT ON (2 retries of 408, 409,
 * 429 and 5xx): a failure a retry cannot fix must cost one provider call and
 * one stored session; one it can fix is retried with the provider's hint.
 */
const OPENAI_KEY = `sk-up-${randomUUID()}`;
const ANTHROPIC_KEY = `sk-ant-up-${randomUUID()}`;
let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

async function setup() {
  const openai = await startFakeOpenAI(streamReply(['The ', 'answer']), { apiKey: OPENAI_KEY });
  const anthropic = await startFakeAnthropic(streamReply(['Roses']), { apiKey: ANTHROPIC_KEY });
  const test = await startTestGateway({
    configure: (config) => ({
      ...config,
      agents: {
        list: [
          { id: 'helper', name: 'Helper', model: 'up/model-x' },
          { id: 'poet', name: 'Poet', model: 'ant/claude-x', maxTokens: 300 },
        ],
      },
      models: {
        providers: {
          up: {
            api: 'openai-completions',
            baseUrl: openai.baseUrl,
            apiKey: OPENAI_KEY,
            allowedAgents: ['helper'],
          },
          ant: {
            api: 'anthropic-messages',
            baseUrl: anthropic.baseUrl,
            apiKey: ANTHROPIC_KEY,
            allowedAgents: ['poet'],
          },
        },
      },
    }),
  });
  // Retries on, as every application that does not think about it runs the client.
  const client = new OpenAI({ baseURL: `${test.url}/v1`, apiKey: test.token });
  cleanups.push(async () => {
    await test.close();
    await openai.close();
    await anthropic.close();
  });
  return { test, openai, anthropic, client };
}

async function sessionCount(test: TestGateway): Promise<number> {
  const { client } = await connectControlClient(test.url, test.token);
  const response = await client.request('sessions.list', { limit: 200 });
  client.close();
  if (!response.ok) throw new Error(response.error.message);
  return (response.payload as { sessions: unknown[] }).sessions.length;
}

const ask = { model: 'helper', messages: [{ role: 'user' as const, content: 'What is it?' }] };

describe('provider failures through the official openai client, retries on', () => {
  it('a provider 401 is one call, one session and a non-retried 4xx that blames the provider key', async () => {
    const { test, openai, client } = await setup();
    openai.setScript({ kind: 'error', status: 401 });
    const error = await client.chat.completions.create(ask).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(error).toMatchObject({ status: 424, code: 'PROVIDER_AUTH_FAILED' });
    expect((error as Error).message).toMatch(
      /model provider at http:\/\/127\.0\.0\.1:\d+ rejected the credential/,
    );
    expect((error as Error).message).toMatch(/openclaw\.json.*gateway token is fine/);
    expect((error as Error).message).not.toContain(OPENAI_KEY);
    expect(openai.requests).toHaveLength(1);
    expect(await sessionCount(test)).toBe(1);
  });

  it('a request the provider refuses as invalid (400, 404) is one call and a 400', async () => {
    const { test, openai, client } = await setup();
    for (const status of [400, 404]) {
      openai.setScript({ kind: 'error', status });
      await expect(client.chat.completions.create(ask)).rejects.toMatchObject({
        status: 400,
        code: 'PROVIDER_REQUEST_REJECTED',
      });
    }
    expect(openai.requests).toHaveLength(2);
    expect(await sessionCount(test)).toBe(2);
  });

  it('a provider 429 stays 429 with retry-after, which the client honours and retries', async () => {
    const { test, openai, client } = await setup();
    openai.setScript({ kind: 'error', status: 429, headers: { 'retry-after': '1' } });
    const error = await client.chat.completions.create(ask).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect((error as InstanceType<typeof OpenAI.RateLimitError>).headers.get('retry-after')).toBe('1');
    expect(openai.requests).toHaveLength(3); // the first try and the client's two retries
    expect(await sessionCount(test)).toBe(3); // each request is its own conversation
  });

  it('a provider 5xx is a 5xx the client retries', async () => {
    const { test, openai, client } = await setup();
    openai.setScript({ kind: 'error', status: 503, headers: { 'retry-after': '1' } });
    const error = await client.chat.completions.create(ask).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.InternalServerError);
    expect(error).toMatchObject({ code: 'PROVIDER_UNAVAILABLE' });
    expect((error as InstanceType<typeof OpenAI.APIError>).headers?.get('retry-after')).toBe('1');
    expect(openai.requests).toHaveLength(3);
    expect(await sessionCount(test)).toBe(3);
  });

  it('bad model and bad gateway token are answered without a provider call or a retry', async () => {
    const { test, openai, client } = await setup();
    await expect(client.chat.completions.create({ ...ask, model: 'nobody' })).rejects.toBeInstanceOf(
      OpenAI.NotFoundError,
    );
    const wrongToken = new OpenAI({ baseURL: client.baseURL, apiKey: 'not-the-token' });
    await expect(wrongToken.chat.completions.create(ask)).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    expect(openai.requests).toHaveLength(0);
    expect(await sessionCount(test)).toBe(0);
  });

  it('a mid-stream failure reaches the client once: one provider call, one session holding the partial reply', async () => {
    const { test, openai, client } = await setup();
    openai.setScript(
      streamReply(['par', 'tial'], {
        interrupt: { afterChunks: 1, action: { error: { type: 'server_error', message: 'boom' } } },
      }),
    );
    const stream = await client.chat.completions.create({ ...ask, stream: true });
    const received: string[] = [];
    const failure = await (async () => {
      for await (const chunk of stream) received.push(chunk.choices[0]?.delta.content ?? '');
    })().catch((caught: unknown) => caught);
    expect(failure).toBeInstanceOf(OpenAI.APIError);
    expect((failure as Error).message).toMatch(/mid-response/);
    expect(received.join('')).toBe('par');
    expect(openai.requests).toHaveLength(1);
    expect(await sessionCount(test)).toBe(1);
    const { client: control } = await connectControlClient(test.url, test.token);
    const list = await control.request('sessions.list', {});
    const key = list.ok ? (list.payload as { sessions: { key: string }[] }).sessions[0]?.key : undefined;
    const history = await control.request('chat.history', { sessionKey: key });
    control.close();
    const messages = history.ok
      ? (
          history.payload as {
            messages: { content: string | { type: string; text: string }[]; status?: string }[];
          }
        ).messages
      : [];
    expect(messages.map((message) => [message.content, message.status])).toEqual([
      ['What is it?', undefined],
      [[{ type: 'text', text: 'par' }], 'error'],
    ]);
  });
});

describe('Idempotency-Key', () => {
  it('the same key answers the same stored run without a second provider call', async () => {
    const { test, openai, client } = await setup();
    const headers = { 'Idempotency-Key': `key-${randomUUID()}` };
    const first = await client.chat.completions.create(ask, { headers });
    const again = await client.chat.completions.create(ask, { headers });
    expect(again.choices[0]?.message.content).toBe('The answer');
    expect(first.choices[0]?.message.content).toBe('The answer');
    expect(openai.requests).toHaveLength(1);
    expect(await sessionCount(test)).toBe(1);
    // The same key with another request is refused, not answered with the wrong reply.
    await expect(
      client.chat.completions.create({ ...ask, messages: [{ role: 'user', content: 'other' }] }, { headers }),
    ).rejects.toMatchObject({ status: 409, code: 'IDEMPOTENCY_KEY_REUSED' });
  });

  it('the same key while its run is still streaming is a 409, which OpenAI clients retry', async () => {
    const { openai, client } = await setup();
    openai.setScript(
      streamReply(['slow ', 'reply'], { chunkDelayMs: 100, interrupt: { afterChunks: 1, action: 'hang' } }),
    );
    const headers = { 'Idempotency-Key': `key-${randomUUID()}` };
    const noRetries = client.withOptions({ maxRetries: 0 });
    const stream = await noRetries.chat.completions.create({ ...ask, stream: true }, { headers });
    await expect(noRetries.chat.completions.create(ask, { headers })).rejects.toMatchObject({
      status: 409,
      code: 'SESSION_BUSY',
    });
    stream.controller.abort();
    expect(openai.requests).toHaveLength(1);
  });

  it('a key whose run failed in a way a retry can fix runs again', async () => {
    const { openai, client } = await setup();
    const headers = { 'Idempotency-Key': `key-${randomUUID()}` };
    openai.setScript({ kind: 'error', status: 500 });
    const noRetries = client.withOptions({ maxRetries: 0 });
    await expect(noRetries.chat.completions.create(ask, { headers })).rejects.toMatchObject({ status: 502 });
    openai.setScript(streamReply(['fixed']));
    const retried = await noRetries.chat.completions.create(ask, { headers });
    expect(retried.choices[0]?.message.content).toBe('fixed');
    expect(openai.requests).toHaveLength(2);
  });
});

describe('OpenAI request parameters', () => {
  it('passes temperature, top_p, stop and max_completion_tokens in the OpenAI wire format', async () => {
    const { openai, client } = await setup();
    await client.chat.completions.create({
      ...ask,
      temperature: 0.2,
      top_p: 0.9,
      stop: ['END'],
      max_completion_tokens: 50,
    });
    await client.chat.completions.create({ ...ask, stop: 'X', max_tokens: 7 });
    expect(openai.requests[0]?.body).toMatchObject({
      temperature: 0.2,
      top_p: 0.9,
      stop: ['END'],
      max_completion_tokens: 50,
    });
    expect(openai.requests[0]?.body).not.toHaveProperty('max_tokens');
    expect(openai.requests[1]?.body).toMatchObject({ stop: ['X'], max_tokens: 7 });
  });

  it('maps them to Anthropic Messages: stop_sequences, max_tokens over the agent default', async () => {
    const { anthropic, client } = await setup();
    await client.chat.completions.create({
      model: 'poet',
      messages: [{ role: 'user', content: 'A poem' }],
      temperature: 0.5,
      top_p: 0.8,
      stop: ['\n\n'],
      max_tokens: 64,
    });
    await client.chat.completions.create({ model: 'poet', messages: [{ role: 'user', content: 'Again' }] });
    expect(anthropic.requests[0]?.body).toMatchObject({
      temperature: 0.5,
      top_p: 0.8,
      stop_sequences: ['\n\n'],
      max_tokens: 64,
    });
    expect(anthropic.requests[1]?.body).toMatchObject({ max_tokens: 300 });
  });

  it('refuses what the provider cannot honour with a 400 naming it, before any provider call', async () => {
    const { test, openai, anthropic, client } = await setup();
    const refusals: [object, string][] = [
      [{ ...ask, n: 2 }, 'n'],
      [{ ...ask, seed: 1 }, ''],
      [{ model: 'poet', messages: ask.messages, temperature: 1.5 }, 'temperature'],
      [{ ...ask, max_tokens: 5, max_completion_tokens: 5 }, 'max_completion_tokens'],
    ];
    for (const [body, param] of refusals) {
      const response = await fetch(`${test.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { ...test.authHeaders, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(response.status).toBe(400);
      const json = (await response.json()) as { error: Record<string, unknown> };
      // OpenAI's error shape, with our stable code.
      expect(Object.keys(json.error).sort()).toEqual(['code', 'message', 'param', 'type']);
      expect(json.error).toMatchObject({ type: 'invalid_request_error', code: 'VALIDATION_FAILED' });
      expect(json.error.param).toBe(param || null);
    }
    await expect(client.chat.completions.create({ ...ask, n: 3 })).rejects.toBeInstanceOf(
      OpenAI.BadRequestError,
    );
    expect(openai.requests).toHaveLength(0);
    expect(anthropic.requests).toHaveLength(0);
    expect(await sessionCount(test)).toBe(0);
  });

  it('sends usage only when stream_options.include_usage asks, in a last chunk without choices', async () => {
    const { client } = await setup();
    const chunks = async (body: Parameters<typeof client.chat.completions.create>[0]) => {
      const stream = await client.chat.completions.create({ ...body, stream: true });
      const all = [];
      for await (const chunk of stream as AsyncIterable<OpenAI.ChatCompletionChunk>) all.push(chunk);
      return all;
    };
    const withUsage = await chunks({ ...ask, stream_options: { include_usage: true } });
    expect(withUsage.at(-1)).toMatchObject({ choices: [], usage: { total_tokens: expect.any(Number) } });
    const without = await chunks(ask);
    expect(without.every((chunk) => !chunk.usage)).toBe(true);
  });
});

describe('GET /v1/models/{id}', () => {
  it('retrieves an agent as a model, by id or openclaw/<id>, and 404s an unknown one in OpenAI’s shape', async () => {
    const { client } = await setup();
    expect(await client.models.retrieve('helper')).toMatchObject({ id: 'helper', object: 'model' });
    expect(await client.models.retrieve('openclaw/poet')).toMatchObject({ id: 'poet' });
    const error = await client.models.retrieve('nobody').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect(error).toMatchObject({ code: 'NOT_FOUND', type: 'not_found_error' });
  });
});
