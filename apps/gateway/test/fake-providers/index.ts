/**
 * Local HTTP servers that speak the model providers' wire formats: the only
 * test doubles for public-internet services in this project. Import from
 * here in any gateway test that needs a model provider.
 */
import type { StreamReply } from './script.js';

export { startFakeAnthropic } from './fake-anthropic.js';
export { startFakeOpenAI } from './fake-openai.js';
export { closedPortUrl } from './harness.js';
export type {
  ErrorReply,
  FakeProvider,
  FakeProviderOptions,
  FakeReply,
  FakeScript,
  InterruptAction,
  RecordedRequest,
  RedirectReply,
  StreamReply,
} from './script.js';

/** A successful streamed reply of `chunks`, the common case. */
export function streamReply(chunks: string[], extra: Omit<StreamReply, 'kind' | 'chunks'> = {}): StreamReply {
  return { kind: 'stream', chunks, ...extra };
}
