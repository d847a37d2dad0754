import { randomUUID } from 'node:crypto';
import { ApiError, issuesOf } from '@multiclaw/protocol';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ConfigFile } from '../config/config-file.js';
import { isAbortError } from '../providers/errors.js';
import type { ChatTurn } from '../providers/types.js';
import { resolveAgentModel } from '../runs/credentials.js';
import type { RunService } from '../runs/run-service.js';
import { toErrorShape } from '../runs/run-service.js';
import type { LocalStore } from '../store/local-store.js';

/**
 * The OpenAI-compatible surface: local agents appear as models, and a chat
 * completion runs the agent. Each request is stored as its own session
 * (the request's messages, then the reply), so nothing said is lost.
 */
const ContentPart = z.object({ type: z.literal('text'), text: z.string() });
const ChatCompletionRequest = z.object({
  model: z.string().min(1),
  messages: z
    .array(
      z.object({
        role: z.enum(['system', 'developer', 'user', 'assistant']),
        content: z.union([z.string(), z.array(ContentPart)]),
      }),
    )
    .min(1),
  stream: z.boolean().optional(),
});

export function registerOpenAIRoutes(
  app: FastifyInstance,
  deps: { config: ConfigFile; runs: RunService; store: LocalStore },
): void {
  app.get('/v1/models', async () => {
    const created = Math.floor(Date.now() / 1000);
    const agents = (await deps.config.current()).agents.list;
    return {
      object: 'list',
      data: agents.map((agent) => ({ id: agent.id, object: 'model', created, owned_by: 'multiclaw' })),
    };
  });

  app.post('/v1/chat/completions', async (request, reply) => {
    const parsed = ChatCompletionRequest.safeParse(request.body);
    if (!parsed.success) {
      throw new ApiError('VALIDATION_FAILED', 'Invalid chat completion request', {
        issues: issuesOf(parsed.error),
      });
    }
    const body = parsed.data;
    const turns: ChatTurn[] = body.messages.map((message) => ({
      role: message.role === 'developer' ? 'system' : message.role,
      content:
        typeof message.content === 'string'
          ? message.content
          : message.content.map((part) => part.text).join(''),
    }));
    const completionId = `chatcmpl-${randomUUID()}`;
    const created = Math.floor(Date.now() / 1000);
    const controller = new AbortController();
    // The client hanging up aborts the run (and the provider request with it).
    reply.raw.on('close', () => {
      if (!reply.raw.writableFinished)
        controller.abort(new DOMException('client disconnected', 'AbortError'));
    });
    resolveAgentModel(await deps.config.current(), body.model);
    const lastUser = [...turns].reverse().find((turn) => turn.role === 'user')?.content ?? '';
    const session = await deps.store.createSession(body.model, lastUser.slice(0, 80));
    const runId = randomUUID();
    const storeTurns = async (reply: {
      text: string;
      status: 'complete' | 'aborted' | 'error';
      error?: unknown;
    }) => {
      const at = new Date().toISOString();
      await deps.store.appendMessages(session.key, [
        ...turns.map((turn) => ({
          id: randomUUID(),
          role: turn.role,
          content: turn.content,
          createdAt: at,
          runId,
        })),
        {
          id: randomUUID(),
          role: 'assistant' as const,
          content: reply.text,
          createdAt: at,
          runId,
          status: reply.status,
          ...(reply.error ? { error: toErrorShape(reply.error) } : {}),
        },
      ]);
    };

    if (!body.stream) {
      try {
        const result = await deps.runs.complete(body.model, turns, {
          signal: controller.signal,
          onDelta: () => {},
        });
        await storeTurns({ text: result.text, status: 'complete' });
        return {
          id: completionId,
          object: 'chat.completion',
          created,
          model: body.model,
          choices: [
            {
              index: 0,
              message: { role: 'assistant', content: result.text },
              finish_reason: result.finishReason,
            },
          ],
          usage: usageOf(result.usage),
        };
      } catch (error) {
        await storeTurns({ text: '', status: isAbortError(error) ? 'aborted' : 'error', error });
        throw error;
      }
    }

    const chunk = (delta: object, finishReason: string | null, extra: object = {}) =>
      `data: ${JSON.stringify({
        id: completionId,
        object: 'chat.completion.chunk',
        created,
        model: body.model,
        choices: [{ index: 0, delta, finish_reason: finishReason }],
        ...extra,
      })}\n\n`;
    // The stream starts with the first delta, so an error before it (a 401 or 429 from the
    // provider) is still an ordinary HTTP error response with its own status.
    let started = false;
    const startStream = () => {
      if (started) return;
      started = true;
      reply.hijack();
      reply.raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'x-request-id': request.id,
      });
      reply.raw.write(chunk({ role: 'assistant', content: '' }, null));
    };
    let text = '';
    try {
      const result = await deps.runs.complete(body.model, turns, {
        signal: controller.signal,
        onDelta: (delta) => {
          startStream();
          text += delta;
          reply.raw.write(chunk({ content: delta }, null));
        },
      });
      await storeTurns({ text: result.text, status: 'complete' });
      startStream();
      reply.raw.write(chunk({}, result.finishReason, { usage: usageOf(result.usage) }));
      reply.raw.write('data: [DONE]\n\n');
    } catch (error) {
      const aborted = isAbortError(error) || controller.signal.aborted;
      await storeTurns({
        text,
        status: aborted ? 'aborted' : 'error',
        error: aborted ? undefined : error,
      }).catch((storeError) => request.log.warn({ err: storeError }, 'could not store the reply'));
      if (!started) throw error;
      // Mid-stream errors travel as an SSE `error` object, which OpenAI's clients raise as an APIError.
      if (!aborted) reply.raw.write(`data: ${JSON.stringify({ error: toErrorShape(error) })}\n\n`);
    }
    reply.raw.end();
  });
}

function usageOf(usage: { inputTokens: number; outputTokens: number } | undefined) {
  return usage
    ? {
        prompt_tokens: usage.inputTokens,
        completion_tokens: usage.outputTokens,
        total_tokens: usage.inputTokens + usage.outputTokens,
      }
    : undefined;
}
