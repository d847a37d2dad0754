/**
 * Anthropic Messages, streaming: POST {baseUrl}/v1/messages, then named SSE
 * events (message_start, content_block_*, message_delta, message_stop, ping,
 * error). Event types this code does not know are skipped, as Anthropic's
 * versioning policy asks of clients; known ones are validated strictly.
 */
import type { EventSourceMessage } from 'eventsource-parser';
import { z } from 'zod';
import { badResponseError, errorFromStreamEvent, type ProviderContext, parseJson } from './errors.js';
import { readEventStream } from './event-stream.js';
import { endpoint, originOf, postStreamingJson } from './request.js';
import { anthropicSamplingFields } from './sampling.js';
import type { StreamCompletion } from './types.js';

export const ANTHROPIC_VERSION = '2023-06-01';
export const DEFAULT_MAX_TOKENS = 4096;

const TokenCount = z.number().int().nonnegative();

const MessageStart = z.object({
  type: z.literal('message_start'),
  message: z.object({
    usage: z.object({
      input_tokens: TokenCount,
      output_tokens: TokenCount.nullish(),
      cache_creation_input_tokens: TokenCount.nullish(),
      cache_read_input_tokens: TokenCount.nullish(),
    }),
  }),
});
const ContentBlockDelta = z.object({
  type: z.literal('content_block_delta'),
  index: z.number().int().nonnegative(),
  delta: z.looseObject({ type: z.string() }), // kept whole: a text_delta is parsed again below
});
const TextDelta = z.object({ type: z.literal('text_delta'), text: z.string() });
const MessageDelta = z.object({
  type: z.literal('message_delta'),
  delta: z.object({ stop_reason: z.string().nullish() }),
  usage: z.object({ output_tokens: TokenCount }),
});
const StreamError = z.object({
  type: z.literal('error'),
  error: z.object({ type: z.string(), message: z.string() }),
});
const TypedEvent = z.object({ type: z.string() });

/** Anthropic's stop reasons in the vocabulary of CompletionResult.finishReason. */
function normaliseStopReason(reason: string): string {
  if (reason === 'end_turn' || reason === 'stop_sequence') return 'stop';
  if (reason === 'max_tokens') return 'length';
  return reason;
}

export const streamAnthropicMessage: StreamCompletion = async (egress, request, onDelta) => {
  const context: ProviderContext = { origin: originOf(request.baseUrl), apiKey: request.apiKey };
  const system = request.turns
    .filter((turn) => turn.role === 'system')
    .map((turn) => turn.content)
    .join('\n\n');
  const body = {
    model: request.model,
    max_tokens: request.maxTokens ?? DEFAULT_MAX_TOKENS,
    ...anthropicSamplingFields(request.sampling),
    ...(system ? { system } : {}),
    messages: request.turns
      .filter((turn) => turn.role !== 'system')
      .map((turn) => ({ role: turn.role, content: turn.content })),
    stream: true,
  };
  const headers: Record<string, string> = {
    'anthropic-version': ANTHROPIC_VERSION,
    ...(request.apiKey ? { 'x-api-key': request.apiKey } : {}),
  };
  const response = await postStreamingJson(
    egress,
    endpoint(request.baseUrl, '/v1/messages'),
    headers,
    body,
    context,
    request.signal,
  );

  let text = '';
  let stopReason: string | undefined;
  let inputTokens: number | undefined;
  let outputTokens = 0;

  function parse<T>(schema: z.ZodType<T>, json: unknown, name: string): T {
    const parsed = schema.safeParse(json);
    if (!parsed.success) throw badResponseError(context, `a ${name} event is malformed`);
    return parsed.data;
  }

  function onEvent(event: EventSourceMessage): boolean {
    const json = parseJson(event.data);
    const { type } = parse(TypedEvent, json, event.event ?? 'stream');
    switch (type) {
      case 'message_start': {
        const { usage } = parse(MessageStart, json, type).message;
        // input_tokens excludes prompt-cache reads and writes; the total is what the prompt cost.
        inputTokens =
          usage.input_tokens +
          (usage.cache_creation_input_tokens ?? 0) +
          (usage.cache_read_input_tokens ?? 0);
        outputTokens = usage.output_tokens ?? 0;
        return false;
      }
      case 'content_block_delta': {
        const { delta } = parse(ContentBlockDelta, json, type);
        // Other delta types (thinking, tool input, citations) are not reply text.
        if (delta.type !== 'text_delta') return false;
        const { text: fragment } = parse(TextDelta, delta, type);
        if (fragment) {
          text += fragment;
          onDelta(fragment);
        }
        return false;
      }
      case 'message_delta': {
        const { delta, usage } = parse(MessageDelta, json, type);
        if (delta.stop_reason) stopReason = normaliseStopReason(delta.stop_reason);
        outputTokens = usage.output_tokens; // cumulative, per Anthropic
        return false;
      }
      case 'error':
        throw errorFromStreamEvent(parse(StreamError, json, type).error, context);
      case 'message_stop':
        return true;
      default:
        return false; // ping, content_block_start/stop, and event types added later
    }
  }

  await readEventStream(response, context, request.signal, onEvent);
  return {
    text,
    finishReason: stopReason ?? 'unknown',
    usage: inputTokens === undefined ? undefined : { inputTokens, outputTokens },
  };
};
