import { randomUUID } from 'node:crypto';
import {
  ApiError,
  ChatCompletion,
  type ChatCompletionChunk,
  ChatCompletionRequest,
  type ChatCompletionUsage,
  OpenAIModel,
  OpenAIModelList,
  OpenAIModelParams,
} from '@multiclaw/protocol';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ConfigFile } from '../config/config-file.js';
import type { WorkspaceAgents } from '../link/workspace-agents.js';
import { findAgent } from '../runs/credentials.js';
import type { CompletionParams, RunOutcome, RunService } from '../runs/run-service.js';
import { openAIErrorBody, useOpenAIErrors } from './openai-errors.js';
import { agentIdOf, readCompletionRequest, refuseOpenAIRequest } from './openai-request.js';
import { useZodSchemas, type ZodTypeProvider } from './route-schemas.js';

/**
 * The OpenAI-compatible surface: local agents appear as models, and a chat
 * completion runs the agent through the run service, so each request is
 * stored as its own session (its messages, then the reply as it streams) and
 * SIGTERM drains it like any other run. Errors take OpenAI's shape, the
 * refusals of the declared schemas included.
 */
export function registerOpenAIRoutes(
  app: FastifyInstance,
  deps: { config: ConfigFile; runs: RunService; workspaceAgents?: WorkspaceAgents | undefined },
): void {
  app.register(async (openAIScope) => {
    useOpenAIErrors(openAIScope);
    useZodSchemas(openAIScope, refuseOpenAIRequest);
    const scope = openAIScope.withTypeProvider<ZodTypeProvider>();

    scope.get('/v1/models', { schema: { response: { 200: OpenAIModelList } } }, async () => {
      const agents = (await deps.config.current()).agents.list;
      // Workspace agents from the cloud link appear under their cloud ids.
      const ids = new Set([
        ...agents.map((agent) => agent.id),
        ...(deps.workspaceAgents?.list() ?? []).map((agent) => agent.id),
      ]);
      return { object: 'list' as const, data: [...ids].map((id) => modelOf(id)) };
    });

    scope.get(
      '/v1/models/:id',
      { schema: { params: OpenAIModelParams, response: { 200: OpenAIModel } } },
      async (request) => {
        const agent = findAgent(
          await deps.config.current(),
          agentIdOf(request.params.id),
          deps.workspaceAgents,
        );
        return modelOf(agent.id);
      },
    );

    scope.post(
      '/v1/chat/completions',
      { schema: { body: ChatCompletionRequest, response: { 200: ChatCompletion } } },
      async (request, reply) => {
        const completion = readCompletionRequest(request.body);
        const run: CompletionRun = {
          ...completion,
          idempotencyKey: idempotencyKeyOf(request.headers['idempotency-key']),
          signal: abortedOnHangUp(reply),
        };
        const ids = completionIds(completion.agentId);
        if (!completion.stream) return answer(deps.runs, run, ids, reply);
        const stream = new CompletionStream(reply, ids, completion.includeUsage, request.id);
        await streamAnswer(deps.runs, run, stream);
      },
    );
  });
}

/** One completion's run, before it is told where its deltas go. */
type CompletionRun = Omit<CompletionParams, 'onDelta'>;

function modelOf(id: string): OpenAIModel {
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

/** The client hanging up aborts the run (and the provider request with it). */
function abortedOnHangUp(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.on('close', () => {
    if (!reply.raw.writableFinished) controller.abort(new DOMException('client disconnected', 'AbortError'));
  });
  return controller.signal;
}

/** Without `stream`: the whole reply as one `chat.completion`, or the HTTP error the run ended with. */
async function answer(
  runs: RunService,
  run: CompletionRun,
  ids: CompletionIds,
  reply: FastifyReply,
): Promise<ChatCompletion> {
  const outcome = await runs.complete({ ...run, onDelta: () => {} });
  if (outcome.replayed) reply.header('idempotent-replayed', 'true');
  return completionOf(ids, requireComplete(outcome));
}

/**
 * With `stream`: server-sent chunks as the reply arrives. A failure before the
 * first chunk is still an ordinary HTTP error, with its own status; after it,
 * an `error` event in the stream.
 */
async function streamAnswer(runs: RunService, run: CompletionRun, stream: CompletionStream): Promise<void> {
  try {
    const outcome = await runs.complete({ ...run, onDelta: (delta) => stream.delta(delta) });
    if (outcome.replayed) stream.delta(outcome.text);
    if (outcome.status === 'complete') stream.finish(outcome);
    else if (!stream.started) requireComplete(outcome);
    else if (outcome.status !== 'aborted') stream.fail(failureOf(outcome));
  } catch (error) {
    if (!stream.started) throw error;
    stream.fail(error instanceof ApiError ? error : new ApiError('INTERNAL', 'The run failed unexpectedly'));
  }
  stream.end();
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

function usageOf(usage: RunOutcome['usage']): ChatCompletionUsage | undefined {
  return usage
    ? {
        prompt_tokens: usage.inputTokens,
        completion_tokens: usage.outputTokens,
        total_tokens: usage.inputTokens + usage.outputTokens,
      }
    : undefined;
}

/** What every chunk of one completion, or the completion itself, starts with. */
interface CompletionIds {
  id: string;
  created: number;
  model: string;
}

function completionIds(agentId: string): CompletionIds {
  return { id: `chatcmpl-${randomUUID()}`, created: Math.floor(Date.now() / 1000), model: agentId };
}

function completionOf(ids: CompletionIds, outcome: RunOutcome): ChatCompletion {
  return {
    ...ids,
    object: 'chat.completion',
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
    private readonly includeUsage: boolean,
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
    if (this.includeUsage) this.write({ ...this.base(), choices: [], usage: usageOf(outcome.usage) ?? null });
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
    return { ...this.ids, object: 'chat.completion.chunk' as const };
  }

  private chunk(
    delta: ChatCompletionChunk['choices'][number]['delta'],
    finishReason: string | null,
  ): ChatCompletionChunk {
    return { ...this.base(), choices: [{ index: 0, delta, finish_reason: finishReason }] };
  }

  private write(event: ChatCompletionChunk | ReturnType<typeof openAIErrorBody>): void {
    if (!this.reply.raw.writableEnded) this.reply.raw.write(`data: ${JSON.stringify(event)}\n\n`);
  }
}
