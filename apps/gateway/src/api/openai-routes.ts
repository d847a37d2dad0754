import { randomUUID } from 'node:crypto';
import { ApiError } from '@multiclaw/protocol';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ConfigFile } from '../config/config-file.js';
import { findAgent } from '../runs/credentials.js';
import type { RunOutcome, RunService } from '../runs/run-service.js';
import { openAIErrorBody, useOpenAIErrors } from './openai-errors.js';
import { agentIdOf, type ParsedCompletionRequest, parseCompletionRequest } from './openai-request.js';

/**
 * The OpenAI-compatible surface: local agents appear as models, and a chat
 * completion runs the agent through the run service, so each request is
 * stored as its own session (its messages, then the reply as it streams) and
 * SIGTERM drains it like any other run. Errors take OpenAI's shape.
 */
export function registerOpenAIRoutes(
  app: FastifyInstance,
  deps: { config: ConfigFile; runs: RunService },
): void {
  app.register(async (scope) => {
    useOpenAIErrors(scope);

    scope.get('/v1/models', async () => {
      const agents = (await deps.config.current()).agents.list;
      return { object: 'list', data: agents.map((agent) => modelOf(agent.id)) };
    });

    scope.get<{ Params: { id: string } }>('/v1/models/:id', async (request) => {
      const agent = findAgent(await deps.config.current(), agentIdOf(request.params.id));
      return modelOf(agent.id);
    });

    scope.post('/v1/chat/completions', async (request, reply) => {
      const body = parseCompletionRequest(request.body);
      const idempotencyKey = idempotencyKeyOf(request.headers['idempotency-key']);
      const controller = new AbortController();
      // The client hanging up aborts the run (and the provider request with it).
      reply.raw.on('close', () => {
        if (!reply.raw.writableFinished)
          controller.abort(new DOMException('client disconnected', 'AbortError'));
      });
      const completion = { id: `chatcmpl-${randomUUID()}`, created: Math.floor(Date.now() / 1000) };
      if (!body.stream) {
        const outcome = await deps.runs.complete({
          ...body,
          idempotencyKey,
          signal: controller.signal,
          onDelta: () => {},
        });
        if (outcome.replayed) reply.header('idempotent-replayed', 'true');
        return completionOf(completion, body, requireComplete(outcome));
      }
      const stream = new CompletionStream(reply, completion, body, request.id);
      try {
        const outcome = await deps.runs.complete({
          ...body,
          idempotencyKey,
          signal: controller.signal,
          onDelta: (delta) => stream.delta(delta),
        });
        if (outcome.replayed) stream.delta(outcome.text);
        if (outcome.status === 'complete') stream.finish(outcome);
        // An error before the first chunk is still an ordinary HTTP error, with its own status.
        else if (!stream.started) requireComplete(outcome);
        else if (outcome.status !== 'aborted') stream.fail(failureOf(outcome));
      } catch (error) {
        if (!stream.started) throw error;
        stream.fail(
          error instanceof ApiError ? error : new ApiError('INTERNAL', 'The run failed unexpectedly'),
        );
      }
      stream.end();
    });
  });
}

function modelOf(id: string) {
  return { id, object: 'model', created: Math.floor(Date.now() / 1000), owned_by: 'multiclaw' };
}

/** The IETF `Idempotency-Key` header (a structured-field string; quotes optional here). */
function idempotencyKeyOf(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  const value = (Array.isArray(header) ? header.join(',') : header).trim().replace(/^"(.*)"$/, '$1');
  if (value.length < 1 || value.length > 255) {
    throw new ApiError('VALIDATION_FAILED', 'The Idempotency-Key header must be 1–255 characters', {
      issues: [{ path: 'Idempotency-Key', message: '1–255 characters' }],
    });
  }
  return value;
}

/** A run that did not complete as the HTTP error it ended with. */
function requireComplete(outcome: RunOutcome): RunOutcome {
  if (outcome.status === 'complete') return outcome;
  throw failureOf(outcome);
}

function failureOf(outcome: RunOutcome): ApiError {
  if (outcome.error) return outcome.error;
  return new ApiError(
    'SERVICE_UNAVAILABLE',
    outcome.status === 'interrupted'
      ? 'The gateway stopped while this reply was streaming; what had arrived is stored. Send the request again once the gateway is back'
      : 'The run was aborted',
  );
}

function usageOf(usage: RunOutcome['usage']) {
  return usage
    ? {
        prompt_tokens: usage.inputTokens,
        completion_tokens: usage.outputTokens,
        total_tokens: usage.inputTokens + usage.outputTokens,
      }
    : undefined;
}

interface CompletionIds {
  id: string;
  created: number;
}

function completionOf(ids: CompletionIds, body: ParsedCompletionRequest, outcome: RunOutcome) {
  return {
    ...ids,
    object: 'chat.completion',
    model: body.agentId,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: outcome.text },
        finish_reason: outcome.finishReason ?? 'stop',
      },
    ],
    usage: usageOf(outcome.usage),
  };
}

/**
 * The SSE side of a streaming completion. It starts with the first delta, so a
 * failure before any (a provider 401 or 429) is an ordinary HTTP error.
 */
class CompletionStream {
  started = false;

  constructor(
    private readonly reply: FastifyReply,
    private readonly ids: CompletionIds,
    private readonly body: ParsedCompletionRequest,
    private readonly requestId: string,
  ) {}

  delta(content: string): void {
    this.start();
    this.write(this.chunk({ content }, null));
  }

  finish(outcome: RunOutcome): void {
    this.start();
    this.write(this.chunk({}, outcome.finishReason ?? 'stop'));
    // OpenAI sends usage only when asked, in a last chunk with no choices.
    if (this.body.includeUsage)
      this.write({ ...this.base(), choices: [], usage: usageOf(outcome.usage) ?? null });
    this.reply.raw.write('data: [DONE]\n\n');
  }

  /** Mid-stream errors travel as an SSE `error` object, which OpenAI's clients raise as an APIError. */
  fail(error: ApiError): void {
    this.write(openAIErrorBody(error));
  }

  end(): void {
    if (this.started) this.reply.raw.end();
  }

  private start(): void {
    if (this.started) return;
    this.started = true;
    this.reply.hijack();
    this.reply.raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-request-id': this.requestId,
    });
    this.write(this.chunk({ role: 'assistant', content: '' }, null));
  }

  private base() {
    return { ...this.ids, object: 'chat.completion.chunk', model: this.body.agentId };
  }

  private chunk(delta: object, finishReason: string | null) {
    return { ...this.base(), choices: [{ index: 0, delta, finish_reason: finishReason }] };
  }

  private write(event: object): void {
    if (!this.reply.raw.writableEnded) this.reply.raw.write(`data: ${JSON.stringify(event)}\n\n`);
  }
}
