/**
 * The body of `POST /v1/chat/completions`, parsed strictly: every parameter
 * the gateway accepts is passed on to the provider; anything else (`n` > 1,
 * `tools`, `seed`…) is refused with a 400 that names it, never ignored.
 */
import { ApiError, issuesOf } from '@multiclaw/protocol';
import { z } from 'zod';
import type { ChatTurn, Sampling } from '../providers/types.js';

const ContentPart = z.strictObject({ type: z.literal('text'), text: z.string() });

const ChatCompletionRequest = z.strictObject({
  model: z.string().min(1),
  messages: z
    .array(
      z.strictObject({
        role: z.enum(['system', 'developer', 'user', 'assistant']),
        content: z.union([z.string(), z.array(ContentPart)]),
      }),
    )
    .min(1),
  stream: z.boolean().nullish(),
  stream_options: z.strictObject({ include_usage: z.boolean().optional() }).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  max_tokens: z.number().int().positive().nullish(),
  max_completion_tokens: z.number().int().positive().nullish(),
  stop: z.union([z.string().min(1), z.array(z.string().min(1)).min(1).max(4)]).nullish(),
  n: z
    .literal(1, { error: 'the gateway returns one choice per request: send n: 1 or leave it out' })
    .nullish(),
});

export interface ParsedCompletionRequest {
  agentId: string;
  turns: ChatTurn[];
  sampling: Sampling | undefined;
  stream: boolean;
  includeUsage: boolean;
}

/** Model ids are agent ids; `openclaw/<agentId>` (OpenClaw's form) names the same agent. */
export function agentIdOf(model: string): string {
  return model.startsWith('openclaw/') ? model.slice('openclaw/'.length) : model;
}

export function parseCompletionRequest(body: unknown): ParsedCompletionRequest {
  const parsed = ChatCompletionRequest.safeParse(body);
  if (!parsed.success) {
    const issues = issuesOf(parsed.error);
    const list = issues.map((issue) => `${issue.path || 'body'}: ${issue.message}`).join('; ');
    throw new ApiError(
      'VALIDATION_FAILED',
      `Invalid chat completion request (${list}). Parameters the gateway cannot pass to the model provider are refused, not ignored.`,
      { issues },
    );
  }
  const request = parsed.data;
  if (request.max_tokens != null && request.max_completion_tokens != null) {
    throw new ApiError('VALIDATION_FAILED', 'Send max_tokens or max_completion_tokens, not both', {
      issues: [{ path: 'max_completion_tokens', message: 'max_tokens is set too' }],
    });
  }
  const maxTokensField = request.max_completion_tokens != null ? 'max_completion_tokens' : 'max_tokens';
  const maxTokens = request.max_completion_tokens ?? request.max_tokens ?? undefined;
  const sampling: Sampling = {
    ...(request.temperature != null ? { temperature: request.temperature } : {}),
    ...(request.top_p != null ? { topP: request.top_p } : {}),
    ...(request.stop != null
      ? { stop: typeof request.stop === 'string' ? [request.stop] : request.stop }
      : {}),
    ...(maxTokens !== undefined ? { maxTokens, maxTokensField } : {}),
  };
  return {
    agentId: agentIdOf(request.model),
    turns: request.messages.map((message) => ({
      role: message.role === 'developer' ? 'system' : message.role,
      content:
        typeof message.content === 'string'
          ? message.content
          : message.content.map((part) => part.text).join(''),
    })),
    sampling: Object.keys(sampling).length ? sampling : undefined,
    stream: request.stream ?? false,
    includeUsage: request.stream_options?.include_usage ?? false,
  };
}
