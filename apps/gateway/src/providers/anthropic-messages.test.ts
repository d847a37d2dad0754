import { ApiError } from '@multiclaw/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { type FakeProvider, startFakeAnthropic, streamReply } from '../../test/fake-providers/index.js';
import { createEgress } from '../egress/egress.js';
import { ANTHROPIC_VERSION, DEFAULT_MAX_TOKENS, streamAnthropicMessage } from './anthropic-messages.js';
import type { CompletionRequest } from './types.js';

let server: FakeProvider | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function complete(baseUrl: string, overrides: Partial<CompletionRequest> = {}) {
  const egress = createEgress({ allowedOrigins: () => [baseUrl], log: { warn() {} } });
  return streamAnthropicMessage(
    egress,
    {
      api: 'anthropic-messages',
      baseUrl,
      model: 'claude-sonnet-4-5',
      apiKey: 'sk-ant-api03-test',
      turns: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello.' },
        { role: 'system', content: 'Answer in French.' },
        { role: 'user', content: 'Again' },
      ],
      signal: new AbortController().signal,
      ...overrides,
    },
    () => undefined,
  );
}

async function failure(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(ApiError);
  return error as ApiError;
}

describe('Anthropic messages adapter', () => {
  it('posts to /v1/messages with x-api-key, anthropic-version, the system turns at the top level and max_tokens', async () => {
    server = await startFakeAnthropic(streamReply(['ok']), { apiKey: 'sk-ant-api03-test' });
    await complete(server.baseUrl);

    const [request] = server.requests;
    expect(request?.path).toBe('/v1/messages');
    expect(request?.headers['x-api-key']).toBe('sk-ant-api03-test');
    expect(request?.headers['anthropic-version']).toBe(ANTHROPIC_VERSION);
    expect(request?.headers.authorization).toBeUndefined();
    expect(request?.body).toEqual({
      model: 'claude-sonnet-4-5',
      max_tokens: DEFAULT_MAX_TOKENS,
      system: 'Be brief.\n\nAnswer in French.',
      messages: [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello.' },
        { role: 'user', content: 'Again' },
      ],
      stream: true,
    });
  });

  it('passes maxTokens through and omits system when there is none', async () => {
    server = await startFakeAnthropic(streamReply(['ok']));
    await complete(server.baseUrl, { maxTokens: 100, turns: [{ role: 'user', content: 'Hi' }] });
    expect(server.requests[0]?.body).toMatchObject({ max_tokens: 100 });
    expect(server.requests[0]?.body).not.toHaveProperty('system');
  });

  it('reads input tokens from message_start and output tokens from message_delta', async () => {
    server = await startFakeAnthropic(
      streamReply(['a', 'b'], { usage: { inputTokens: 31, outputTokens: 9 } }),
    );
    expect((await complete(server.baseUrl)).usage).toEqual({ inputTokens: 31, outputTokens: 9 });
  });

  it('maps HTTP 529 overloaded_error to PROVIDER_UNAVAILABLE', async () => {
    server = await startFakeAnthropic({ kind: 'error', status: 529 });
    const error = await failure(complete(server.baseUrl));
    expect(error.code).toBe('PROVIDER_UNAVAILABLE');
    expect(error.message).toContain('HTTP 529');
    expect(error.message).toContain('Overloaded');
  });

  it('maps 403 permission_error to PROVIDER_AUTH_FAILED', async () => {
    server = await startFakeAnthropic({ kind: 'error', status: 403 });
    expect((await failure(complete(server.baseUrl))).code).toBe('PROVIDER_AUTH_FAILED');
  });

  it('maps a missing key to PROVIDER_AUTH_FAILED with the provider message', async () => {
    server = await startFakeAnthropic(streamReply(['never']), { apiKey: 'sk-ant-real' });
    const error = await failure(complete(server.baseUrl, { apiKey: undefined }));
    expect(error.code).toBe('PROVIDER_AUTH_FAILED');
    expect(error.message).toContain('x-api-key header is required');
    expect(server.requests[0]?.headers['x-api-key']).toBeUndefined();
  });

  it('takes the retry hint from anthropic-ratelimit reset headers when there is no retry-after', async () => {
    const reset = new Date(Date.now() + 45_000).toISOString();
    server = await startFakeAnthropic({
      kind: 'error',
      status: 429,
      headers: { 'anthropic-ratelimit-requests-remaining': '0', 'anthropic-ratelimit-requests-reset': reset },
    });
    const error = await failure(complete(server.baseUrl));
    expect(error.code).toBe('PROVIDER_RATE_LIMITED');
    expect(error.details?.retryAfterSeconds).toBeGreaterThanOrEqual(43);
    expect(error.details?.retryAfterSeconds).toBeLessThanOrEqual(45);
  });

  it('rejects a text_delta without text as PROVIDER_BAD_RESPONSE, and skips unknown event types', async () => {
    // The fake's 'malformed' action sends a truncated content_block_delta.
    server = await startFakeAnthropic(
      streamReply(['a', 'b'], { interrupt: { afterChunks: 1, action: 'malformed' } }),
    );
    expect((await failure(complete(server.baseUrl))).code).toBe('PROVIDER_BAD_RESPONSE');
  });
});
