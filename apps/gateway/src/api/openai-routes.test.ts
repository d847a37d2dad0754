import { afterEach, describe, expect, it } from 'vitest';
import { builtServer } from '../../test/support/built-server.js';

/**
 * The refusals of POST /v1/chat/completions, word for word: the route
 * declares its schema (ChatCompletionRequest), and what a client reads when it
 * fails must stay OpenAI's error shape with the field in `param`.
 */
let cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

const ask = { model: 'helper', messages: [{ role: 'user', content: 'What is it?' }] };
const REFUSED_NOT_IGNORED =
  'Parameters the gateway cannot pass to the model provider are refused, not ignored.';

async function post(body: unknown, extraHeaders: Record<string, string> = {}) {
  const { server, token, host } = await builtServer({ port: 18789, cleanups });
  const response = await server.app.inject({
    method: 'POST',
    url: '/v1/chat/completions',
    headers: {
      host,
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...extraHeaders,
    },
    ...(body === undefined ? {} : { payload: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return { status: response.statusCode, body: response.json() as unknown };
}

describe('POST /v1/chat/completions refusals', () => {
  it('names every invalid field, first one as `param`', async () => {
    expect(await post({ ...ask, temperature: 3, n: 2 })).toEqual({
      status: 400,
      body: {
        error: {
          message: `Invalid chat completion request (temperature: Too big: expected number to be <=2; n: the gateway returns one choice per request: send n: 1 or leave it out). ${REFUSED_NOT_IGNORED}`,
          type: 'invalid_request_error',
          param: 'temperature',
          code: 'VALIDATION_FAILED',
        },
      },
    });
  });

  it('refuses a parameter it does not know with `param` null (OpenAI names none for the body)', async () => {
    expect(await post({ ...ask, seed: 1 })).toEqual({
      status: 400,
      body: {
        error: {
          message: `Invalid chat completion request (body: Unrecognized key: "seed"). ${REFUSED_NOT_IGNORED}`,
          type: 'invalid_request_error',
          param: null,
          code: 'VALIDATION_FAILED',
        },
      },
    });
  });

  it('refuses max_tokens with max_completion_tokens', async () => {
    expect(await post({ ...ask, max_tokens: 5, max_completion_tokens: 5 })).toEqual({
      status: 400,
      body: {
        error: {
          message: 'Send max_tokens or max_completion_tokens, not both',
          type: 'invalid_request_error',
          param: 'max_completion_tokens',
          code: 'VALIDATION_FAILED',
        },
      },
    });
  });

  it('refuses an Idempotency-Key outside 1–255 characters, after the body is valid', async () => {
    const refusal = {
      status: 400,
      body: {
        error: {
          message: 'The Idempotency-Key header must be 1–255 characters',
          type: 'invalid_request_error',
          param: 'Idempotency-Key',
          code: 'VALIDATION_FAILED',
        },
      },
    };
    expect(await post(ask, { 'idempotency-key': 'k'.repeat(256) })).toEqual(refusal);
    expect(await post(ask, { 'idempotency-key': '""' })).toEqual(refusal);
    // An invalid body is named first, whatever the header.
    expect(await post({ ...ask, n: 2 }, { 'idempotency-key': '' })).toMatchObject({
      body: { error: { param: 'n' } },
    });
  });

  it('answers a body that is not JSON, or none, in the same shape', async () => {
    expect(await post('{"model":')).toEqual({
      status: 400,
      body: {
        error: {
          message: 'The request body is not valid JSON',
          type: 'invalid_request_error',
          param: null,
          code: 'MALFORMED_JSON',
        },
      },
    });
    expect(await post(undefined)).toMatchObject({
      status: 400,
      body: { error: { type: 'invalid_request_error', param: null, code: 'VALIDATION_FAILED' } },
    });
  });
});
