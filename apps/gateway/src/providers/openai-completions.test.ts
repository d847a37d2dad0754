import { ApiError } from '@multiclaw/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { type FakeProvider, startFakeOpenAI, streamReply } from '../../test/fake-providers/index.js';
import { createEgress } from '../egress/egress.js';
import { streamOpenAICompletion } from './openai-completions.js';
import type { CompletionRequest } from './types.js';

let server: FakeProvider | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function complete(baseUrl: string, overrides: Partial<CompletionRequest> = {}) {
  const egress = createEgress({ allowedOrigins: () => [baseUrl], log: { warn() {} } });
  return streamOpenAICompletion(
    egress,
    {
      api: 'openai-completions',
      baseUrl,
      model: 'gpt-4o-mini',
      turns: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello.' },
        { role: 'user', content: 'Again' },
      ],
      signal: new AbortController().signal,
      ...overrides,
    },
    () => undefined,
  );
}

describe('OpenAI chat completions adapter', () => {
  it('posts the model, the turns in order, streaming with usage, and the key as a Bearer token', async () => {
    server = await startFakeOpenAI(streamReply(['ok']), { apiKey: 'sk-proj-abc' });
    await complete(server.baseUrl, { apiKey: 'sk-proj-abc', maxTokens: 64 });

    const [request] = server.requests;
    expect(request?.method).toBe('POST');
    expect(request?.path).toBe('/v1/chat/completions');
    expect(request?.headers.authorization).toBe('Bearer sk-proj-abc');
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.body).toEqual({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello.' },
        { role: 'user', content: 'Again' },
      ],
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 64,
    });
  });

  it('sends no Authorization header for a keyless local server, and no max_tokens unless asked', async () => {
    server = await startFakeOpenAI(streamReply(['ok']));
    await complete(server.baseUrl);
    expect(server.requests[0]?.headers.authorization).toBeUndefined();
    expect(server.requests[0]?.body).not.toHaveProperty('max_tokens');
  });

  it('reads usage from the final chunk that has no choices', async () => {
    server = await startFakeOpenAI(streamReply(['a', 'b'], { usage: { inputTokens: 40, outputTokens: 2 } }));
    const result = await complete(server.baseUrl);
    expect(result.usage).toEqual({ inputTokens: 40, outputTokens: 2 });
  });

  it('maps an in-stream rate-limit error chunk to PROVIDER_RATE_LIMITED', async () => {
    server = await startFakeOpenAI(
      streamReply(['a'], {
        interrupt: {
          afterChunks: 1,
          action: { error: { type: 'rate_limit_exceeded', message: 'Slow down' } },
        },
      }),
    );
    const error = await complete(server.baseUrl).catch((reason: unknown) => reason);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).code).toBe('PROVIDER_RATE_LIMITED');
    expect((error as ApiError).message).toContain('Slow down');
  });

  it('maps a 503 to PROVIDER_UNAVAILABLE', async () => {
    server = await startFakeOpenAI({ kind: 'error', status: 503 });
    const error = await complete(server.baseUrl).catch((reason: unknown) => reason);
    expect((error as ApiError).code).toBe('PROVIDER_UNAVAILABLE');
    expect((error as ApiError).message).toContain('currently overloaded');
  });
});
