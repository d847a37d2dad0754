/** The provider adapters behind one StreamCompletion, chosen by the request's wire format. */
import { streamAnthropicMessage } from './anthropic-messages.js';
import { streamOpenAICompletion } from './openai-completions.js';
import type { ProviderApi, StreamCompletion } from './types.js';

export { isAbortError } from './errors.js';
export type {
  ChatTurn,
  CompletionRequest,
  CompletionResult,
  ProviderApi,
  StreamCompletion,
} from './types.js';
export { PROVIDER_APIS } from './types.js';

const ADAPTERS: Record<ProviderApi, StreamCompletion> = {
  'openai-completions': streamOpenAICompletion,
  'anthropic-messages': streamAnthropicMessage,
};

export const streamCompletion: StreamCompletion = (egress, request, onDelta) =>
  ADAPTERS[request.api](egress, request, onDelta);
