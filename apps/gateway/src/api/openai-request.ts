/**
 * The body of `POST /v1/chat/completions` (ChatCompletionRequest in
 * @multiclaw/protocol, which the route declares) read into what the run
 * service takes. The schema is strict: every parameter the gateway accepts is
 * passed on to the provider; anything else (`n` > 1, `tools`, `seed`…) is
 * refused with a 400 that names it, never ignored.
 */
import { ApiError, type ChatCompletionRequest } from '@multiclaw/protocol';
import type { ChatTurn, Sampling } from '../providers/types.js';
import type { Refusal } from './route-schemas.js';

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

/** A request that does not match its schema, every problem named (OpenAI's `param` is the first path). */
export const refuseOpenAIRequest: Refusal = (issues) => {
  const list = issues.map((issue) => `${issue.path || 'body'}: ${issue.message}`).join('; ');
  return new ApiError(
    'VALIDATION_FAILED',
    `Invalid chat completion request (${list}). Parameters the gateway cannot pass to the model provider are refused, not ignored.`,
    { issues },
  );
};

export function readCompletionRequest(request: ChatCompletionRequest): ParsedCompletionRequest {
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
