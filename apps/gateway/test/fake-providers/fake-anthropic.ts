/**
 * A local stand-in for Anthropic's Messages API, faithful where clients can
 * tell: the request checks (x-api-key, anthropic-version, max_tokens, no
 * "system" role in messages), the named SSE events in their real order, and
 * the `{type:'error', error:{type,message}}` error shape.
 */
import type { ServerResponse } from 'node:http';
import {
  cut,
  redirect,
  roughTokens,
  sendJson,
  startEventStream,
  startFakeServer,
  waitBeforeChunk,
  writeEvent,
} from './harness.js';
import type {
  ErrorReply,
  FakeProvider,
  FakeProviderOptions,
  FakeScript,
  InterruptAction,
  RecordedRequest,
  StreamReply,
} from './script.js';

interface AnthropicError {
  type: string;
  message: string;
}

const DEFAULT_ERRORS: Record<number, AnthropicError> = {
  400: {
    type: 'invalid_request_error',
    message: 'There was an issue with the format or content of your request.',
  },
  401: { type: 'authentication_error', message: 'invalid x-api-key' },
  403: {
    type: 'permission_error',
    message: 'Your API key does not have permission to use the specified resource.',
  },
  404: { type: 'not_found_error', message: 'The requested resource could not be found.' },
  413: { type: 'request_too_large', message: 'Request exceeds the maximum allowed number of bytes.' },
  429: {
    type: 'rate_limit_error',
    message:
      'This request would exceed the rate limit for your organization of 50 requests per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits.',
  },
  500: { type: 'api_error', message: 'Internal server error' },
  529: { type: 'overloaded_error', message: 'Overloaded' },
};

function requestId(): string {
  return `req_${Date.now().toString(36)}${Math.random().toString(36).slice(2, 10)}`;
}

function sendError(
  res: ServerResponse,
  status: number,
  error: AnthropicError,
  headers: Record<string, string> = {},
): void {
  const id = requestId();
  sendJson(res, status, { type: 'error', error, request_id: id }, { 'request-id': id, ...headers });
}

function sendScriptedError(res: ServerResponse, reply: ErrorReply): void {
  if (reply.rawBody !== undefined) {
    res.writeHead(reply.status, { 'content-type': 'text/plain', ...reply.headers });
    res.end(reply.rawBody);
    return;
  }
  const fallback = DEFAULT_ERRORS[reply.status] ?? {
    type: reply.status >= 500 ? 'api_error' : 'invalid_request_error',
    message: `HTTP ${reply.status}`,
  };
  sendError(
    res,
    reply.status,
    { type: reply.type ?? fallback.type, message: reply.message ?? fallback.message },
    reply.headers,
  );
}

/** The checks the real API makes before anything else, in its order. */
function requestFailure(
  request: RecordedRequest,
  apiKey: string | undefined,
): [number, AnthropicError] | undefined {
  if (apiKey !== undefined) {
    const presented = request.headers['x-api-key'];
    if (presented === undefined) {
      return [401, { type: 'authentication_error', message: 'x-api-key header is required' }];
    }
    if (presented !== apiKey) return [401, { type: 'authentication_error', message: 'invalid x-api-key' }];
  }
  const invalid = (message: string): [number, AnthropicError] => [
    400,
    { type: 'invalid_request_error', message },
  ];
  if (request.headers['anthropic-version'] === undefined)
    return invalid('anthropic-version: header is required');
  const body = request.body as Partial<MessagesRequest> | undefined;
  if (typeof body !== 'object' || body === null) return invalid('Invalid JSON in request body');
  if (typeof body.model !== 'string') return invalid('model: Field required');
  if (typeof body.max_tokens !== 'number') return invalid('max_tokens: Field required');
  if (!Array.isArray(body.messages)) return invalid('messages: Field required');
  for (const [index, message] of body.messages.entries()) {
    if (message.role !== 'user' && message.role !== 'assistant') {
      return invalid(
        `messages.${index}.role: Input should be 'user' or 'assistant'` +
          (message.role === 'system'
            ? '. The Messages API accepts a top-level `system` parameter, not "system" as an input message role.'
            : ''),
      );
    }
  }
  return undefined;
}

interface MessagesRequest {
  model: string;
  max_tokens: number;
  system?: unknown;
  messages: Array<{ role?: unknown; content?: unknown }>;
  stream?: unknown;
}

function inputTokens(reply: StreamReply, request: MessagesRequest): number {
  if (reply.usage) return reply.usage.inputTokens;
  const texts = request.messages.map((message) => String(message.content ?? ''));
  return roughTokens([String(request.system ?? ''), ...texts].join(' '));
}

function outputTokens(reply: StreamReply): number {
  return reply.usage?.outputTokens ?? roughTokens(reply.chunks.join(''));
}

const json = (value: unknown) => JSON.stringify(value);

async function sendStream(res: ServerResponse, reply: StreamReply, request: MessagesRequest): Promise<void> {
  const id = `msg_${Date.now().toString(36)}`;
  startEventStream(res, { 'request-id': requestId(), ...reply.headers });
  await writeEvent(
    res,
    json({
      type: 'message_start',
      message: {
        id,
        type: 'message',
        role: 'assistant',
        model: request.model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: {
          input_tokens: inputTokens(reply, request),
          cache_creation_input_tokens: 0,
          cache_read_input_tokens: 0,
          output_tokens: 1,
          service_tier: 'standard',
        },
      },
    }),
    'message_start',
  );
  await writeEvent(
    res,
    json({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
    'content_block_start',
  );
  await writeEvent(res, json({ type: 'ping' }), 'ping');
  for (const [index, text] of reply.chunks.entries()) {
    if (reply.interrupt?.afterChunks === index && (await interrupt(res, reply.interrupt.action))) return;
    await waitBeforeChunk(reply.chunkDelayMs);
    await writeEvent(
      res,
      json({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } }),
      'content_block_delta',
    );
  }
  if (
    reply.interrupt &&
    reply.interrupt.afterChunks >= reply.chunks.length &&
    (await interrupt(res, reply.interrupt.action))
  ) {
    return;
  }
  await writeEvent(res, json({ type: 'content_block_stop', index: 0 }), 'content_block_stop');
  await writeEvent(
    res,
    json({
      type: 'message_delta',
      delta: { stop_reason: reply.finishReason ?? 'end_turn', stop_sequence: null },
      usage: { output_tokens: outputTokens(reply) },
    }),
    'message_delta',
  );
  await writeEvent(res, json({ type: 'message_stop' }), 'message_stop');
  res.end();
}

/** Plays an interruption; true when the stream is over. */
async function interrupt(res: ServerResponse, action: InterruptAction): Promise<boolean> {
  if (action === 'reset' || action === 'close') {
    cut(res, action);
    return true;
  }
  if (action === 'end') {
    res.end();
    return true;
  }
  if (action === 'hang') return true;
  if (action === 'malformed') {
    await writeEvent(
      res,
      '{"type":"content_block_delta","index":0,"delta":{"type":"text_del',
      'content_block_delta',
    );
    return false;
  }
  await writeEvent(res, json({ type: 'error', error: action.error }), 'error');
  res.end();
  return true;
}

function sendMessage(res: ServerResponse, reply: StreamReply, request: MessagesRequest): void {
  sendJson(
    res,
    200,
    {
      id: `msg_${Date.now().toString(36)}`,
      type: 'message',
      role: 'assistant',
      model: request.model,
      content: [{ type: 'text', text: reply.chunks.join('') }],
      stop_reason: reply.finishReason ?? 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: inputTokens(reply, request), output_tokens: outputTokens(reply) },
    },
    { 'request-id': requestId(), ...reply.headers },
  );
}

/**
 * Starts a fake Anthropic server. Point a provider at `baseUrl` (the bare
 * origin, like https://api.anthropic.com); requests go to /v1/messages.
 */
export function startFakeAnthropic(
  script: FakeScript,
  options: FakeProviderOptions = {},
): Promise<FakeProvider> {
  return startFakeServer(
    script,
    async (request, index, current, res) => {
      const reply = typeof current === 'function' ? current(request, index) : current;
      if (reply.kind === 'redirect') return redirect(res, reply.status ?? 307, reply.location);
      if (request.method !== 'POST' || request.path.split('?')[0] !== '/v1/messages') {
        return sendError(res, 404, { type: 'not_found_error', message: 'Not Found' });
      }
      const failure = requestFailure(request, options.apiKey);
      if (failure) return sendError(res, failure[0], failure[1]);
      if (reply.kind === 'error') return sendScriptedError(res, reply);
      const messages = request.body as MessagesRequest;
      if (messages.stream === true) return sendStream(res, reply, messages);
      return sendMessage(res, reply, messages);
    },
    (url) => url,
  );
}
