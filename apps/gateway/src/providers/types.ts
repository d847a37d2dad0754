/**
 * The contract between agent runs and model providers. A provider adapter
 * turns one request into one streamed completion over the provider's own
 * wire format; everything outbound goes through the egress module.
 */
import type { Egress } from '../egress/egress.js';

/** Wire formats we speak. Names follow OpenClaw's `models.providers.<id>.api`. */
export const PROVIDER_APIS = ['openai-completions', 'anthropic-messages'] as const;
export type ProviderApi = (typeof PROVIDER_APIS)[number];

export interface ChatTurn {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface CompletionRequest {
  api: ProviderApi;
  /** e.g. https://api.openai.com/v1 or https://api.anthropic.com (no trailing slash needed). */
  baseUrl: string;
  model: string;
  /** The credential scoped to the agent making this run; absent for keyless local servers. */
  apiKey?: string | undefined;
  turns: ChatTurn[];
  maxTokens?: number | undefined;
  sampling?: Sampling | undefined;
  signal: AbortSignal;
}

/**
 * The client's generation settings (OpenAI chat-completions names in
 * comments), passed to the provider in its own wire format. Each adapter
 * either sends a setting or refuses the run before any request
 * (`unsupportedSampling`): none is silently dropped.
 */
export interface Sampling {
  /** temperature */
  temperature?: number | undefined;
  /** top_p */
  topP?: number | undefined;
  /** stop: the provider stops before any of these. */
  stop?: string[] | undefined;
  /** max_tokens / max_completion_tokens: overrides the agent's `maxTokens`. */
  maxTokens?: number | undefined;
  /**
   * Which field the client used for `maxTokens`: OpenAI's reasoning models take only
   * `max_completion_tokens`, older compatible servers only `max_tokens`.
   */
  maxTokensField?: 'max_tokens' | 'max_completion_tokens' | undefined;
}

export interface CompletionResult {
  text: string;
  /** Provider's own stop reason, normalised: 'stop' | 'length' | other provider value. */
  finishReason: string;
  usage?: { inputTokens: number; outputTokens: number } | undefined;
}

/** Streams one completion, calling onDelta for each text fragment, and resolves with the whole reply. */
export type StreamCompletion = (
  egress: Egress,
  request: CompletionRequest,
  onDelta: (text: string) => void,
) => Promise<CompletionResult>;
