/**
 * What an idempotency key's earlier run left behind, read back from the store:
 * the facts a retry with the same key is answered from.
 */
import { createHash } from 'node:crypto';
import { ApiError, ERROR_CODES } from '@multiclaw/protocol';
import type { LocalStore } from '../store/local-store.js';
import type { IdempotencyEntry } from './idempotency-log.js';
import { fromErrorShape, type RunOutcome } from './reply-stream.js';

/** How far back in its session a key's run is looked for (the run a retry repeats is recent). */
const LOOKBACK = 200;

export function requestHashOf(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex');
}

/** Whether the key's run got its request messages stored before it stopped. */
export async function requestStored(store: LocalStore, entry: IdempotencyEntry): Promise<boolean> {
  const { messages } = await store.history(entry.sessionKey, { limit: LOOKBACK });
  return messages.some((message) => message.runId === entry.runId && message.role !== 'assistant');
}

/** A finished run's outcome from its stored reply; a stored failure is thrown again as it was. */
export async function storedOutcome(store: LocalStore, entry: IdempotencyEntry): Promise<RunOutcome> {
  const { messages } = await store.history(entry.sessionKey, { limit: LOOKBACK });
  const reply = messages.findLast((message) => message.runId === entry.runId && message.role === 'assistant');
  if (!reply) throw new ApiError('INTERNAL', 'The stored reply of this Idempotency-Key is missing');
  if (reply.error) throw fromErrorShape(reply.error);
  return { status: reply.status ?? 'complete', text: reply.content, finishReason: 'stop', message: reply };
}

/** What a client's retry can fix: the rule OpenAI clients use (429 and 5xx), and runs cut short. */
export function retryable(outcome: RunOutcome): boolean {
  if (outcome.status === 'complete') return false;
  if (outcome.status !== 'error' || !outcome.error) return true;
  const { status } = ERROR_CODES[outcome.error.code];
  return status === 429 || status >= 500;
}
