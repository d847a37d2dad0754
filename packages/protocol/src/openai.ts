import { z } from 'zod';

/**
 * The OpenAI-compatible surface of the local gateway (`/v1/models`,
 * `/v1/chat/completions`): the part of OpenAI's API it serves, in OpenAI's
 * own field names. Requests are strict: a parameter the gateway cannot pass
 * on to the model provider (`n` > 1, `tools`, `seed`…) is refused, never
 * ignored. Responses carry what the official clients read.
 */

export const ChatContentPart = z.strictObject({ type: z.literal('text'), text: z.string() });
export type ChatContentPart = z.infer<typeof ChatContentPart>;

export const ChatCompletionMessage = z.strictObject({
  role: z.enum(['system', 'developer', 'user', 'assistant']),
  content: z.union([z.string(), z.array(ChatContentPart)]),
});
export type ChatCompletionMessage = z.infer<typeof ChatCompletionMessage>;

/** The body of `POST /v1/chat/completions`. */
export const ChatCompletionRequest = z.strictObject({
  /** An agent id, or `openclaw/<agentId>` (OpenClaw's form). */
  model: z.string().min(1),
  messages: z.array(ChatCompletionMessage).min(1),
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
export type ChatCompletionRequest = z.infer<typeof ChatCompletionRequest>;

export const ChatCompletionUsage = z.object({
  prompt_tokens: z.number().int().nonnegative(),
  completion_tokens: z.number().int().nonnegative(),
  total_tokens: z.number().int().nonnegative(),
});
export type ChatCompletionUsage = z.infer<typeof ChatCompletionUsage>;

/** Why the reply ended (`stop`, `length`…, as the provider said; `stop` when it did not). */
const FinishReason = z.string().min(1);

/** What `POST /v1/chat/completions` answers without `stream`. */
export const ChatCompletion = z.object({
  id: z.string(),
  object: z.literal('chat.completion'),
  created: z.number().int(),
  model: z.string(),
  choices: z.array(
    z.object({
      index: z.number().int().nonnegative(),
      message: z.object({ role: z.literal('assistant'), content: z.string() }),
      finish_reason: FinishReason,
    }),
  ),
  usage: ChatCompletionUsage.optional(),
});
export type ChatCompletion = z.infer<typeof ChatCompletion>;

/**
 * One server-sent event of a streamed completion: a delta, the last chunk with
 * its finish reason, or (with `stream_options.include_usage`) a closing chunk
 * with no choices and the usage.
 */
export const ChatCompletionChunk = z.object({
  id: z.string(),
  object: z.literal('chat.completion.chunk'),
  created: z.number().int(),
  model: z.string(),
  choices: z.array(
    z.object({
      index: z.number().int().nonnegative(),
      delta: z.object({ role: z.literal('assistant').optional(), content: z.string().optional() }),
      finish_reason: FinishReason.nullable(),
    }),
  ),
  usage: ChatCompletionUsage.nullable().optional(),
});
export type ChatCompletionChunk = z.infer<typeof ChatCompletionChunk>;

/** A local agent as an OpenAI model. */
export const OpenAIModel = z.object({
  id: z.string(),
  object: z.literal('model'),
  created: z.number().int(),
  owned_by: z.string(),
});
export type OpenAIModel = z.infer<typeof OpenAIModel>;

export const OpenAIModelList = z.object({ object: z.literal('list'), data: z.array(OpenAIModel) });
export type OpenAIModelList = z.infer<typeof OpenAIModelList>;

/** `GET /v1/models/{id}`. */
export const OpenAIModelParams = z.object({ id: z.string() });
export type OpenAIModelParams = z.infer<typeof OpenAIModelParams>;

/**
 * Every error on these routes, in OpenAI's shape so its clients raise their
 * usual error classes: `type` is OpenAI's vocabulary for the status, `code`
 * our stable error code (docs/errors.md), `param` the first offending field.
 * A streamed completion that fails mid-stream sends it as an event.
 */
export const OpenAIErrorBody = z.object({
  error: z.object({
    message: z.string(),
    type: z.string(),
    param: z.string().nullable(),
    code: z.string(),
  }),
});
export type OpenAIErrorBody = z.infer<typeof OpenAIErrorBody>;
