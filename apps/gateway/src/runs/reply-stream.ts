import { ApiError, type GatewayErrorShape, type StoredMessage } from '@multiclaw/protocol';
import type { Egress } from '../egress/egress.js';
import { isAbortError } from '../providers/errors.js';
import type { CompletionRequest, CompletionResult, StreamCompletion } from '../providers/types.js';
import type { LocalStore } from '../store/local-store.js';
import type { PartialReply } from '../store/partial-reply.js';

/** The abort reason of runs stopped because the gateway is stopping (not by their client). */
export const GATEWAY_STOPPING = new DOMException('The gateway is stopping', 'AbortError');

export type ReplyStatus = NonNullable<StoredMessage['status']>;

/** How a run ended, and the reply as stored. */
export interface RunOutcome {
  status: ReplyStatus;
  text: string;
  finishReason?: string | undefined;
  usage?: CompletionResult['usage'];
  /** Why the run failed (status `error`). */
  error?: ApiError | undefined;
  /** The stored reply; absent only when storing it failed. */
  message?: StoredMessage | undefined;
}

export interface ReplyStreamDeps {
  store: LocalStore;
  egress: Egress;
  streamCompletion: StreamCompletion;
  log: { warn(obj: object, msg: string): void };
  now: () => Date;
}

/**
 * Streams one reply from the provider into `partial` (persisted in batches as
 * it arrives) and then stores it whole, however the run ends: complete,
 * aborted by its client, interrupted by the gateway stopping, or failed.
 */
export async function streamReply(
  deps: ReplyStreamDeps,
  run: { runId: string; controller: AbortController; partial: PartialReply },
  /** Resolved inside the run, so a failure to resolve (an agent deleted since) is stored like any other. */
  request: () => Promise<Omit<CompletionRequest, 'signal'>>,
  onDelta: (delta: string) => void,
): Promise<RunOutcome> {
  let text = '';
  const outcome: RunOutcome = { status: 'complete', text };
  try {
    const result = await deps.streamCompletion(
      deps.egress,
      { ...(await request()), signal: run.controller.signal },
      (delta) => {
        text += delta;
        run.partial.add(delta);
        onDelta(delta);
      },
    );
    Object.assign(outcome, { text: result.text, finishReason: result.finishReason, usage: result.usage });
  } catch (error) {
    outcome.text = text;
    const { signal } = run.controller;
    if (signal.aborted && signal.reason === GATEWAY_STOPPING) outcome.status = 'interrupted';
    else if (isAbortError(error) || signal.aborted) outcome.status = 'aborted';
    else {
      outcome.status = 'error';
      outcome.error = toApiError(error);
      if (!(error instanceof ApiError)) deps.log.warn({ err: error, runId: run.runId }, 'agent run failed');
    }
  }
  try {
    outcome.message = await deps.store.finishReply(run.partial, {
      id: run.partial.start.messageId,
      role: 'assistant',
      content: outcome.text,
      createdAt: run.partial.start.createdAt,
      runId: run.runId,
      status: outcome.status,
      ...(outcome.error ? { error: toErrorShape(outcome.error) } : {}),
    });
  } catch (error) {
    // The partial file stays: the next start recovers what streamed as an interrupted reply.
    deps.log.warn({ err: error, runId: run.runId }, 'could not store the reply');
    outcome.status = 'error';
    outcome.error = new ApiError('INTERNAL', 'The reply could not be stored');
  }
  return outcome;
}

function toApiError(error: unknown): ApiError {
  return error instanceof ApiError ? error : new ApiError('INTERNAL', 'The run failed unexpectedly');
}

export function toErrorShape(error: unknown): GatewayErrorShape {
  const apiError = toApiError(error);
  return {
    code: apiError.code,
    message: apiError.message,
    ...(apiError.details ? { details: apiError.details } : {}),
  };
}

/** A stored error back as the ApiError it was (replaying an idempotent request). */
export function fromErrorShape(shape: GatewayErrorShape): ApiError {
  return new ApiError(shape.code, shape.message, shape.details);
}
