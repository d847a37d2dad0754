/**
 * OpenAI Chat Completions, streaming (also spoken by Ollama, vLLM, LM Studio
 * and most "OpenAI-compatible" servers): POST {baseUrl}/chat/completions,
 * then SSE `data:` chunks ending with `data: [DONE]`.
 */
import type { EventSourceMessage } from 'eventsource-parser';
import { z } from 'zod';
import { badResponseError, errorFromStreamEvent, type ProviderContext, parseJson } from './errors.js';
import { readEventStream } from './event-stream.js';
import { endpoint, originOf, postStreamingJson } from './request.js';
import { openAISamplingFields } from './sampling.js';
import type { CompletionResult, StreamCompletion } from './types.js';

const TokenCount = z.number().int().nonnegative();

const ChatCompletionChunk = z.object({
  choices: z.array(
    z.object({
      index: z.number().int().nonnegative(),
      delta: z.object({ content: z.string().nullish() }).nullish(),
      finish_reason: z.string().nullish(),
    }),
  ),
  // Present (null until the last chunk) because we ask for stream_options.include_usage.
  usage: z.object({ prompt_tokens: TokenCount, completion_tokens: TokenCount }).nullish(),
});

// Errors after the 200 arrive as a data chunk of their own.
const StreamErrorChunk = z.object({
  error: z.object({ message: z.string(), type: z.string().nullish(), code: z.string().nullish() }),
});

const DONE = '[DONE]';

export const streamOpenAICompletion: StreamCompletion = async (egress, request, onDelta) => {
  const context: ProviderContext = { origin: originOf(request.baseUrl), apiKey: request.apiKey };
  const body = {
    model: request.model,
    messages: request.turns.map((turn) => ({ role: turn.role, content: turn.content })),
    stream: true,
    stream_options: { include_usage: true },
    ...openAISamplingFields(request.sampling, request.maxTokens),
  };
  const headers: Record<string, string> = request.apiKey ? { authorization: `Bearer ${request.apiKey}` } : {};
  const response = await postStreamingJson(
    egress,
    endpoint(request.baseUrl, '/chat/completions'),
    headers,
    body,
    context,
    request.signal,
  );

  let text = '';
  let finishReason: string | undefined;
  let usage: CompletionResult['usage'];

  function onEvent(event: EventSourceMessage): boolean {
    if (event.data.trim() === DONE) return true;
    const json = parseJson(event.data);
    const failure = StreamErrorChunk.safeParse(json);
    if (failure.success) {
      const { message, type, code } = failure.data.error;
      throw errorFromStreamEvent({ message, type: code ?? type ?? undefined }, context);
    }
    const chunk = ChatCompletionChunk.safeParse(json);
    if (!chunk.success) throw badResponseError(context, 'a stream chunk is not a chat completion chunk');
    // We ask for one choice (n defaults to 1); index 0 is the reply.
    const choice = chunk.data.choices.find((candidate) => candidate.index === 0);
    const delta = choice?.delta?.content;
    if (delta) {
      text += delta;
      onDelta(delta);
    }
    if (choice?.finish_reason) finishReason = choice.finish_reason;
    if (chunk.data.usage) {
      usage = {
        inputTokens: chunk.data.usage.prompt_tokens,
        outputTokens: chunk.data.usage.completion_tokens,
      };
    }
    return false;
  }

  await readEventStream(response, context, request.signal, onEvent);
  return { text, finishReason: finishReason ?? 'unknown', usage };
};
