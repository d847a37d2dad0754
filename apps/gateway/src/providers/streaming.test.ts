/**
 * Behaviour both wire formats share, run against each fake provider through
 * the dispatching `streamCompletion` (so the dispatch is covered too).
 */
import { ApiError } from '@multiclaw/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import {
  closedPortUrl,
  type FakeProvider,
  type FakeProviderOptions,
  type FakeScript,
  startFakeAnthropic,
  startFakeOpenAI,
  streamReply,
} from '../../test/fake-providers/index.js';
import { createEgress, type Egress } from '../egress/egress.js';
import { isAbortError } from './errors.js';
import { streamCompletion } from './index.js';
import type { CompletionRequest, ProviderApi } from './types.js';

const FORMATS: Array<{
  api: ProviderApi;
  start: (script: FakeScript, options?: FakeProviderOptions) => Promise<FakeProvider>;
  /** The provider's own stop reason for a natural end and for hitting max tokens. */
  stop: string;
  length: string;
  /** What the provider says when the key is wrong (its real 401 text). */
  authText: string;
}> = [
  {
    api: 'openai-completions',
    start: startFakeOpenAI,
    stop: 'stop',
    length: 'length',
    authText: 'Incorrect API key provided',
  },
  {
    api: 'anthropic-messages',
    start: startFakeAnthropic,
    stop: 'end_turn',
    length: 'max_tokens',
    authText: 'invalid x-api-key',
  },
];

const servers: FakeProvider[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

const silentLog = { warn() {} };
const egressFor = (...origins: string[]): Egress =>
  createEgress({ allowedOrigins: () => origins, log: silentLog });

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (reason: unknown) => reason,
  );
}

async function apiError(promise: Promise<unknown>, code: ApiError['code']): Promise<ApiError> {
  const error = await rejection(promise);
  expect(error).toBeInstanceOf(ApiError);
  expect((error as ApiError).code).toBe(code);
  return error as ApiError;
}

describe.each(FORMATS)('$api streaming', ({ api, start, stop, length, authText }) => {
  async function fake(script: FakeScript, options?: FakeProviderOptions): Promise<FakeProvider> {
    const server = await start(script, options);
    servers.push(server);
    return server;
  }

  function run(server: FakeProvider | string, overrides: Partial<CompletionRequest> = {}) {
    const baseUrl = typeof server === 'string' ? server : server.baseUrl;
    const deltas: string[] = [];
    const request: CompletionRequest = {
      api,
      baseUrl,
      model: 'test-model',
      apiKey: 'sk-test-key-0123456789',
      turns: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Say hello.' },
      ],
      signal: new AbortController().signal,
      ...overrides,
    };
    const egress = overrides.baseUrl
      ? egressFor(new URL(overrides.baseUrl).origin)
      : egressFor(new URL(baseUrl).origin);
    const result = streamCompletion(egress, request, (delta) => deltas.push(delta));
    return { result, deltas };
  }

  it('streams the deltas in order and resolves with the text, usage and finish reason', async () => {
    const server = await fake(
      streamReply(['Hel', 'lo, ', 'world', '!'], {
        usage: { inputTokens: 12, outputTokens: 5 },
        finishReason: stop,
      }),
      { apiKey: 'sk-test-key-0123456789' },
    );
    const { result, deltas } = run(server);

    expect(await result).toEqual({
      text: 'Hello, world!',
      finishReason: 'stop',
      usage: { inputTokens: 12, outputTokens: 5 },
    });
    expect(deltas).toEqual(['Hel', 'lo, ', 'world', '!']);
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]?.body).toMatchObject({ model: 'test-model', stream: true });
  });

  it("normalises the provider's max-tokens stop reason to 'length'", async () => {
    const server = await fake(streamReply(['cut'], { finishReason: length }));
    expect((await run(server).result).finishReason).toBe('length');
  });

  it('accepts a base URL with a trailing slash', async () => {
    const server = await fake(streamReply(['ok']));
    expect((await run(`${server.baseUrl}/`).result).text).toBe('ok');
  });

  it('maps a rejected key to PROVIDER_AUTH_FAILED with the provider text but never the key', async () => {
    const server = await fake(streamReply(['never']), { apiKey: 'sk-the-right-key' });
    const error = await apiError(
      run(server, { apiKey: 'sk-wrong-key-0123456789' }).result,
      'PROVIDER_AUTH_FAILED',
    );
    expect(error.message).toContain(authText);
    expect(error.message).not.toContain('sk-wrong-key-0123456789');
    expect(error.message).not.toContain('6789');
  });

  it('maps 429 with retry-after in seconds to PROVIDER_RATE_LIMITED with retryAfterSeconds', async () => {
    const server = await fake({ kind: 'error', status: 429, headers: { 'retry-after': '17' } });
    const error = await apiError(run(server).result, 'PROVIDER_RATE_LIMITED');
    expect(error.details).toEqual({ retryAfterSeconds: 17 });
    expect(error.status).toBe(429);
  });

  it('maps 429 with retry-after as an HTTP-date', async () => {
    const at = new Date(Date.now() + 120_000).toUTCString();
    const server = await fake({ kind: 'error', status: 429, headers: { 'retry-after': at } });
    const error = await apiError(run(server).result, 'PROVIDER_RATE_LIMITED');
    // An HTTP-date has whole seconds, so the wait is 119–120 s (121 with a second boundary crossed).
    expect(error.details?.retryAfterSeconds).toBeGreaterThanOrEqual(118);
    expect(error.details?.retryAfterSeconds).toBeLessThanOrEqual(121);
  });

  it('maps 429 without any hint to PROVIDER_RATE_LIMITED without details', async () => {
    const server = await fake({ kind: 'error', status: 429 });
    const error = await apiError(run(server).result, 'PROVIDER_RATE_LIMITED');
    expect(error.details).toBeUndefined();
  });

  it('maps 500 to PROVIDER_UNAVAILABLE, quoting the provider', async () => {
    const server = await fake({ kind: 'error', status: 500, message: 'Something broke upstream' });
    const error = await apiError(run(server).result, 'PROVIDER_UNAVAILABLE');
    expect(error.message).toContain('HTTP 500');
    expect(error.message).toContain('Something broke upstream');
  });

  it('maps a non-JSON error body to PROVIDER_UNAVAILABLE without quoting it', async () => {
    const server = await fake({ kind: 'error', status: 502, rawBody: '<html>Bad gateway</html>' });
    const error = await apiError(run(server).result, 'PROVIDER_UNAVAILABLE');
    expect(error.message).toContain('HTTP 502');
    expect(error.message).not.toContain('<html>');
  });

  it('maps a malformed JSON chunk to PROVIDER_BAD_RESPONSE after the deltas before it', async () => {
    const server = await fake(
      streamReply(['one', 'two'], { interrupt: { afterChunks: 1, action: 'malformed' } }),
    );
    const { result, deltas } = run(server);
    await apiError(result, 'PROVIDER_BAD_RESPONSE');
    expect(deltas).toEqual(['one']);
  });

  it('maps an in-stream overloaded error to PROVIDER_UNAVAILABLE', async () => {
    const server = await fake(
      streamReply(['partial', 'never'], {
        interrupt: { afterChunks: 1, action: { error: { type: 'overloaded_error', message: 'Overloaded' } } },
      }),
    );
    const { result, deltas } = run(server);
    const error = await apiError(result, 'PROVIDER_UNAVAILABLE');
    expect(error.message).toContain('overloaded_error');
    expect(deltas).toEqual(['partial']);
  });

  it('maps a socket closed mid-stream to PROVIDER_UNREACHABLE', async () => {
    const server = await fake(
      streamReply(['a', 'b', 'c'], { interrupt: { afterChunks: 2, action: 'close' } }),
    );
    // Chunks still queued when the cut arrives are dropped by the stream, so only the outcome is certain.
    await apiError(run(server).result, 'PROVIDER_UNREACHABLE');
  });

  it('maps a connection reset mid-stream to PROVIDER_UNREACHABLE', async () => {
    const server = await fake(
      streamReply(['a', 'b', 'c'], { interrupt: { afterChunks: 2, action: 'reset' } }),
    );
    await apiError(run(server).result, 'PROVIDER_UNREACHABLE');
  });

  it('maps a stream that ends without its terminal event to PROVIDER_UNREACHABLE (the reply is incomplete)', async () => {
    const server = await fake(streamReply(['a', 'b'], { interrupt: { afterChunks: 2, action: 'end' } }));
    const error = await apiError(run(server).result, 'PROVIDER_UNREACHABLE');
    expect(error.message).toContain('closed before the reply was complete');
  });

  it('maps a refused connection to PROVIDER_UNREACHABLE', async () => {
    const url = await closedPortUrl();
    const error = await apiError(run(url).result, 'PROVIDER_UNREACHABLE');
    expect(error.message).toContain('ECONNREFUSED');
  });

  it('rejects with the abort reason mid-stream and closes the connection', async () => {
    const server = await fake(
      streamReply(['a', 'b', 'never'], { interrupt: { afterChunks: 2, action: 'hang' } }),
    );
    const controller = new AbortController();
    const deltas: string[] = [];
    const result = streamCompletion(
      egressFor(server.url),
      {
        api,
        baseUrl: server.baseUrl,
        model: 'm',
        turns: [{ role: 'user', content: 'hi' }],
        signal: controller.signal,
      },
      (delta) => {
        deltas.push(delta);
        if (deltas.length === 2) controller.abort();
      },
    );

    // The server hangs after two chunks: only the abort can end this promise.
    const error = await rejection(result);
    expect(isAbortError(error)).toBe(true);
    expect(error).toBe(controller.signal.reason);
    expect(error).not.toBeInstanceOf(ApiError);
    expect(await server.requests[0]?.closed).toEqual({ completed: false });
  });

  it('rejects with a custom abort reason as it is', async () => {
    const server = await fake(streamReply(['a', 'never'], { interrupt: { afterChunks: 1, action: 'hang' } }));
    const controller = new AbortController();
    const reason = new Error('the user cancelled');
    const result = streamCompletion(
      egressFor(server.url),
      {
        api,
        baseUrl: server.baseUrl,
        model: 'm',
        turns: [{ role: 'user', content: 'hi' }],
        signal: controller.signal,
      },
      () => controller.abort(reason),
    );
    expect(await rejection(result)).toBe(reason);
  });

  it('sends nothing when the signal is already aborted', async () => {
    const server = await fake(streamReply(['never']));
    const controller = new AbortController();
    controller.abort();
    const error = await rejection(run(server, { signal: controller.signal }).result);
    expect(isAbortError(error)).toBe(true);
    expect(server.requests).toHaveLength(0);
  });

  it('goes through the egress module: a provider off the allowlist is refused and never contacted', async () => {
    const server = await fake(streamReply(['never']));
    const other = await fake(streamReply(['never']));
    const result = streamCompletion(
      egressFor(other.url),
      {
        api,
        baseUrl: server.baseUrl,
        model: 'm',
        turns: [{ role: 'user', content: 'hi' }],
        signal: AbortSignal.any([]),
      },
      () => undefined,
    );
    await apiError(result, 'EGRESS_REFUSED');
    expect(server.requests).toHaveLength(0);
  });
});
