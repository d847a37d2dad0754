/**
 * A local stand-in for OpenAI's Chat Completions API, byte-faithful where
 * clients can tell: the request checks (Bearer key, JSON body, model,
 * messages), the chunk objects, the SSE framing, `data: [DONE]`, and the
 * `{error:{message,type,param,code}}` error shape.
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
  RecordedRequest,
  StreamReply,
} from './script.js';

interface OpenAIError {
  message: string;
  type: string;
  param: string | null;
  code: string | null;
}

const DEFAULT_ERRORS: Record<number, Omit<OpenAIError, 'param'>> = {
  400: { message: 'Invalid request.', type: 'invalid_request_error', code: null },
  401: {
    message:
      'Incorrect API key provided: sk-abc***wxyz. You can find your API key at https://platform.openai.com/account/api-keys.',
    type: 'invalid_request_error',
    code: 'invalid_api_key',
  },
  403: {
    message: 'You are not allowed to sample from this model',
    type: 'invalid_request_error',
    code: 'model_not_found',
  },
  404: {
    message: 'The model does not exist or you do not have access to it.',
    type: 'invalid_request_error',
    code: 'model_not_found',
  },
  429: {
    message:
      'Rate limit reached for gpt-4o-mini in organization org-fake on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 20s.',
    type: 'requests',
    code: 'rate_limit_exceeded',
  },
  500: {
    message: 'The server had an error while processing your request. Sorry about that!',
    type: 'server_error',
    code: null,
  },
  503: {
    message: 'The engine is currently overloaded, please try again later.',
    type: 'server_error',
    code: null,
  },
};

function sendError(
  res: ServerResponse,
  status: number,
  error: OpenAIError,
  headers: Record<string, string> = {},
) {
  sendJson(res, status, { error }, { 'x-request-id': `req_${Date.now().toString(16)}`, ...headers });
}

function sendScriptedError(res: ServerResponse, reply: ErrorReply): void {
  if (reply.rawBody !== undefined) {
    res.writeHead(reply.status, { 'content-type': 'text/plain', ...reply.headers });
    res.end(reply.rawBody);
    return;
  }
  const fallback = DEFAULT_ERRORS[reply.status] ?? {
    message: `HTTP ${reply.status}`,
    type: reply.status >= 500 ? 'server_error' : 'invalid_request_error',
    code: null,
  };
  sendError(
    res,
    reply.status,
    {
      message: reply.message ?? fallback.message,
      type: fallback.type,
      param: null,
      code: reply.type ?? fallback.code,
    },
    reply.headers,
  );
}

/** The key check the real API does first; undefined when the request may go on. */
function authFailure(request: RecordedRequest, apiKey: string): OpenAIError | undefined {
  const header = request.headers.authorization;
  const presented = header?.startsWith('Bearer ') ? header.slice('Bearer '.length) : undefined;
  if (presented === undefined) {
    return {
      message:
        "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY). You can obtain an API key from https://platform.openai.com/account/api-keys.",
      type: 'invalid_request_error',
      param: null,
      code: null,
    };
  }
  if (presented === apiKey) return undefined;
  const masked = `${presented.slice(0, 3)}${'*'.repeat(Math.max(0, presented.length - 7))}${presented.slice(-4)}`;
  return {
    message: `Incorrect API key provided: ${masked}. You can find your API key at https://platform.openai.com/account/api-keys.`,
    type: 'invalid_request_error',
    param: null,
    code: 'invalid_api_key',
  };
}

interface ChatRequest {
  model: string;
  messages: Array<{ content?: unknown }>;
  stream?: unknown;
  stream_options?: { include_usage?: unknown };
}

function bodyFailure(request: RecordedRequest): OpenAIError | undefined {
  const invalid = (message: string, param: string | null, code: string | null = null): OpenAIError => ({
    message,
    type: 'invalid_request_error',
    param,
    code,
  });
  const body = request.body as Partial<ChatRequest> | undefined;
  if (typeof body !== 'object' || body === null) {
    return invalid(
      "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
      null,
    );
  }
  if (typeof body.model !== 'string') return invalid('you must provide a model parameter', null);
  if (!Array.isArray(body.messages)) {
    return invalid("Missing required parameter: 'messages'.", 'messages', 'missing_required_parameter');
  }
  return undefined;
}

function chunkObject(id: string, created: number, model: string, choices: unknown[], usage: unknown) {
  return JSON.stringify({
    id,
    object: 'chat.completion.chunk',
    created,
    model,
    system_fingerprint: 'fp_fake',
    choices,
    ...(usage === undefined ? {} : { usage }),
  });
}

function usageObject(reply: StreamReply, request: ChatRequest) {
  const prompt = request.messages.map((message) => String(message.content ?? '')).join(' ');
  const promptTokens = reply.usage?.inputTokens ?? roughTokens(prompt);
  const completionTokens = reply.usage?.outputTokens ?? roughTokens(reply.chunks.join(''));
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: 0,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

async function sendStream(res: ServerResponse, reply: StreamReply, request: ChatRequest): Promise<void> {
  const id = `chatcmpl-${Date.now().toString(36)}`;
  const created = Math.floor(Date.now() / 1000);
  const includeUsage = request.stream_options?.include_usage === true;
  // With include_usage, every chunk carries `usage: null` until the last one.
  const noUsage = includeUsage ? null : undefined;
  const choice = (delta: object, finishReason: string | null) => [
    { index: 0, delta, logprobs: null, finish_reason: finishReason },
  ];

  startEventStream(res, { 'x-request-id': `req_${id}`, ...reply.headers });
  await writeEvent(
    res,
    chunkObject(
      id,
      created,
      request.model,
      choice({ role: 'assistant', content: '', refusal: null }, null),
      noUsage,
    ),
  );
  for (const [index, text] of reply.chunks.entries()) {
    if (reply.interrupt?.afterChunks === index) {
      const stop = await interrupt(res, reply.interrupt.action);
      if (stop) return;
    }
    await waitBeforeChunk(reply.chunkDelayMs);
    await writeEvent(res, chunkObject(id, created, request.model, choice({ content: text }, null), noUsage));
  }
  if (reply.interrupt && reply.interrupt.afterChunks >= reply.chunks.length) {
    const stop = await interrupt(res, reply.interrupt.action);
    if (stop) return;
  }
  await writeEvent(
    res,
    chunkObject(id, created, request.model, choice({}, reply.finishReason ?? 'stop'), noUsage),
  );
  if (includeUsage)
    await writeEvent(res, chunkObject(id, created, request.model, [], usageObject(reply, request)));
  await writeEvent(res, '[DONE]');
  res.end();
}

/** Plays an interruption; true when the stream is over. */
async function interrupt(res: ServerResponse, action: NonNullable<StreamReply['interrupt']>['action']) {
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
      '{"id":"chatcmpl-x","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"con',
    );
    return false;
  }
  await writeEvent(res, JSON.stringify({ error: { ...action.error, param: null, code: null } }));
  res.end();
  return true;
}

function sendCompletion(res: ServerResponse, reply: StreamReply, request: ChatRequest): void {
  sendJson(
    res,
    200,
    {
      id: `chatcmpl-${Date.now().toString(36)}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: request.model,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: reply.chunks.join(''), refusal: null },
          logprobs: null,
          finish_reason: reply.finishReason ?? 'stop',
        },
      ],
      usage: usageObject(reply, request),
      system_fingerprint: 'fp_fake',
    },
    reply.headers,
  );
}

/**
 * Starts a fake OpenAI server. Point a provider at `baseUrl` (which ends in
 * /v1, like https://api.openai.com/v1); requests go to /v1/chat/completions.
 */
export function startFakeOpenAI(
  script: FakeScript,
  options: FakeProviderOptions = {},
): Promise<FakeProvider> {
  return startFakeServer(
    script,
    async (request, index, current, res) => {
      const reply = typeof current === 'function' ? current(request, index) : current;
      if (reply.kind === 'redirect') return redirect(res, reply.status ?? 307, reply.location);
      if (request.method !== 'POST' || request.path.split('?')[0] !== '/v1/chat/completions') {
        return sendError(res, 404, {
          message: `Invalid URL (${request.method} ${request.path})`,
          type: 'invalid_request_error',
          param: null,
          code: null,
        });
      }
      const auth = options.apiKey === undefined ? undefined : authFailure(request, options.apiKey);
      if (auth) return sendError(res, 401, auth);
      const invalid = bodyFailure(request);
      if (invalid) return sendError(res, 400, invalid);
      if (reply.kind === 'error') return sendScriptedError(res, reply);
      const chat = request.body as ChatRequest;
      if (chat.stream === true) return sendStream(res, reply, chat);
      return sendCompletion(res, reply, chat);
    },
    (url) => `${url}/v1`,
  );
}
