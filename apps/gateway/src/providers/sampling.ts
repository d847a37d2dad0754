/**
 * The client's generation settings in each provider's wire format. A setting
 * a wire format cannot carry is refused before the run starts (a 400 that
 * names it), never dropped.
 */
import { ApiError } from '@multiclaw/protocol';
import type { ProviderApi, Sampling } from './types.js';

/** Anthropic Messages takes temperature 0–1 (OpenAI: 0–2). */
const ANTHROPIC_MAX_TEMPERATURE = 1;

/** Throws VALIDATION_FAILED when `api` cannot honour a setting. */
export function assertSamplingSupported(api: ProviderApi, sampling: Sampling | undefined): void {
  if (api === 'anthropic-messages' && (sampling?.temperature ?? 0) > ANTHROPIC_MAX_TEMPERATURE) {
    throw new ApiError(
      'VALIDATION_FAILED',
      `temperature ${sampling?.temperature} is above ${ANTHROPIC_MAX_TEMPERATURE}, the most this agent's provider (Anthropic Messages) accepts; send 0–1`,
      { issues: [{ path: 'temperature', message: `at most ${ANTHROPIC_MAX_TEMPERATURE} for this agent` }] },
    );
  }
}

/** OpenAI Chat Completions fields. */
export function openAISamplingFields(
  sampling: Sampling | undefined,
  maxTokens: number | undefined,
): Record<string, unknown> {
  return {
    ...(sampling?.temperature === undefined ? {} : { temperature: sampling.temperature }),
    ...(sampling?.topP === undefined ? {} : { top_p: sampling.topP }),
    ...(sampling?.stop === undefined ? {} : { stop: sampling.stop }),
    // max_tokens unless the client chose max_completion_tokens: older compatible servers know only the first.
    ...(maxTokens === undefined ? {} : { [sampling?.maxTokensField ?? 'max_tokens']: maxTokens }),
  };
}

/** Anthropic Messages fields (max_tokens is required there, so the caller supplies a default). */
export function anthropicSamplingFields(sampling: Sampling | undefined): Record<string, unknown> {
  return {
    ...(sampling?.temperature === undefined ? {} : { temperature: sampling.temperature }),
    ...(sampling?.topP === undefined ? {} : { top_p: sampling.topP }),
    ...(sampling?.stop === undefined ? {} : { stop_sequences: sampling.stop }),
  };
}
