import { ApiError } from '@multiclaw/protocol';
import { describe, expect, it } from 'vitest';
import {
  connectionError,
  errorFromResponse,
  errorFromStreamEvent,
  isAbortError,
  parseProviderError,
  retryAfterSeconds,
} from './errors.js';

const NOW = new Date('2026-03-01T12:00:00.000Z');
const context = { origin: 'https://api.example.com', apiKey: 'sk-live-SECRET123456' };

describe('retryAfterSeconds', () => {
  const hint = (headers: Record<string, string>) => retryAfterSeconds(new Headers(headers), NOW);

  it('reads retry-after as seconds, rounding fractions up', () => {
    expect(hint({ 'retry-after': '30' })).toBe(30);
    expect(hint({ 'retry-after': '1.2' })).toBe(2);
  });

  it('reads retry-after as an HTTP-date against the injected clock, never below zero', () => {
    expect(hint({ 'retry-after': 'Sun, 01 Mar 2026 12:01:30 GMT' })).toBe(90);
    expect(hint({ 'retry-after': 'Sun, 01 Mar 2026 11:00:00 GMT' })).toBe(0);
  });

  it('prefers retry-after-ms', () => {
    expect(hint({ 'retry-after-ms': '2500', 'retry-after': '60' })).toBe(3);
  });

  it("reads Anthropic's reset times, preferring the exhausted limit", () => {
    expect(
      hint({
        'anthropic-ratelimit-requests-remaining': '0',
        'anthropic-ratelimit-requests-reset': '2026-03-01T12:00:20Z',
        'anthropic-ratelimit-tokens-remaining': '5000',
        'anthropic-ratelimit-tokens-reset': '2026-03-01T12:05:00Z',
      }),
    ).toBe(20);
  });

  it("reads OpenAI's reset durations, preferring the exhausted limit", () => {
    expect(
      hint({
        'x-ratelimit-remaining-requests': '10',
        'x-ratelimit-reset-requests': '1s',
        'x-ratelimit-remaining-tokens': '0',
        'x-ratelimit-reset-tokens': '6m0s',
      }),
    ).toBe(360);
    expect(hint({ 'x-ratelimit-reset-requests': '1m30.5s' })).toBe(91);
    expect(hint({ 'x-ratelimit-reset-tokens': '20ms' })).toBe(1);
  });

  it('ignores garbage and says nothing when there is no hint', () => {
    expect(hint({ 'retry-after': 'soon' })).toBeUndefined();
    expect(hint({ 'x-ratelimit-reset-requests': 'later' })).toBeUndefined();
    expect(hint({})).toBeUndefined();
  });
});

describe('parseProviderError', () => {
  it('reads both providers’ shapes and redacts keys', () => {
    expect(
      parseProviderError({
        error: {
          message: 'Incorrect API key provided: sk-abc***wxyz.',
          type: 'invalid_request_error',
          param: null,
          code: 'invalid_api_key',
        },
      }),
    ).toEqual({ message: 'Incorrect API key provided: [redacted].', type: 'invalid_request_error' });
    expect(
      parseProviderError({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }),
    ).toEqual({
      message: 'Overloaded',
      type: 'overloaded_error',
    });
    expect(parseProviderError({ error: 'model not found' })).toEqual({ message: 'model not found' });
    expect(parseProviderError('<html>')).toBeUndefined();
  });

  it('removes the exact key even when it does not look like one', () => {
    expect(
      parseProviderError({ error: { message: 'bad key plainSecretValue' } }, 'plainSecretValue')?.message,
    ).toBe('bad key [redacted]');
  });
});

describe('errorFromResponse', () => {
  const respond = (status: number, headers: Record<string, string> = {}) =>
    errorFromResponse(
      new Response(JSON.stringify({ error: { message: 'provider says no', type: 'x' } }), {
        status,
        headers,
      }),
      context,
      NOW,
    );

  it('answers what a retry cannot fix with codes whose status is a 4xx OpenAI clients do not retry', async () => {
    const codes = await Promise.all(
      [401, 403, 400, 404, 413, 422].map(async (status) => (await respond(status)).code),
    );
    expect(codes).toEqual([
      'PROVIDER_AUTH_FAILED',
      'PROVIDER_AUTH_FAILED',
      'PROVIDER_REQUEST_REJECTED',
      'PROVIDER_REQUEST_REJECTED',
      'PROVIDER_REQUEST_REJECTED',
      'PROVIDER_REQUEST_REJECTED',
    ]);
    for (const status of [401, 400]) {
      const httpStatus = (await respond(status)).status;
      expect(httpStatus >= 400 && httpStatus < 500 && ![408, 409, 429].includes(httpStatus)).toBe(true);
    }
    const auth = await respond(401);
    expect(auth.message).toMatch(/openclaw\.json.*the gateway token is fine.*provider says no/);
  });

  it('keeps 429 and 5xx retryable, with the provider’s retry-after', async () => {
    const limited = await respond(429, { 'retry-after': '7' });
    expect([limited.code, limited.status, limited.details?.retryAfterSeconds]).toEqual([
      'PROVIDER_RATE_LIMITED',
      429,
      7,
    ]);
    const overloaded = await respond(503, { 'retry-after': '3' });
    expect(overloaded.code).toBe('PROVIDER_UNAVAILABLE');
    expect(overloaded.status).toBeGreaterThanOrEqual(500);
    expect(overloaded.details?.retryAfterSeconds).toBe(3);
    expect((await respond(500)).details).toBeUndefined();
  });
});

describe('errorFromStreamEvent', () => {
  it('maps provider error types to codes', () => {
    expect(errorFromStreamEvent({ type: 'overloaded_error', message: 'Overloaded' }, context).code).toBe(
      'PROVIDER_UNAVAILABLE',
    );
    expect(errorFromStreamEvent({ type: 'rate_limit_error', message: 'x' }, context).code).toBe(
      'PROVIDER_RATE_LIMITED',
    );
    expect(errorFromStreamEvent({ type: 'authentication_error', message: 'x' }, context).code).toBe(
      'PROVIDER_AUTH_FAILED',
    );
    expect(errorFromStreamEvent({ message: 'key sk-live-SECRET123456 bad' }, context).message).not.toContain(
      'SECRET',
    );
  });
});

describe('connectionError and isAbortError', () => {
  it('maps fetch failures to PROVIDER_UNREACHABLE with the errno code', () => {
    const cause = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    const error = connectionError(
      new TypeError('fetch failed', { cause }),
      context,
      new AbortController().signal,
    );
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).code).toBe('PROVIDER_UNREACHABLE');
    expect((error as ApiError).message).toContain('ECONNREFUSED');
  });

  it("returns the signal's reason once it is aborted, whatever the error", () => {
    const controller = new AbortController();
    controller.abort();
    const error = connectionError(new TypeError('terminated'), context, controller.signal);
    expect(error).toBe(controller.signal.reason);
    expect(isAbortError(error)).toBe(true);
  });

  it('passes ApiErrors through', () => {
    const refused = new ApiError('EGRESS_REFUSED', 'no');
    expect(connectionError(refused, context, new AbortController().signal)).toBe(refused);
  });

  it('recognises abort and timeout errors only', () => {
    expect(isAbortError(new DOMException('x', 'AbortError'))).toBe(true);
    expect(isAbortError(AbortSignal.abort().reason)).toBe(true);
    expect(isAbortError(new DOMException('x', 'TimeoutError'))).toBe(true);
    expect(isAbortError(new Error('AbortError'))).toBe(false);
    expect(isAbortError(new ApiError('PROVIDER_UNREACHABLE', 'x'))).toBe(false);
  });
});
