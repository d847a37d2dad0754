import { agentIdOfSessionKey, ERROR_CODES, type ErrorCode, type RunEvent } from '@multiclaw/protocol';

/** One event frame's name and payload. */
export type ProtocolEvent = { event: 'agent' | 'chat'; payload: Record<string, unknown> };

type RunProgress = { text: string; agentSeq: number; startedAt: number };

/**
 * Turns the run service's events into OpenClaw's: per run, `agent` events
 * (lifecycle start, assistant text with cumulative `text` and its `delta`,
 * lifecycle end or error) and `chat` events (delta, final, aborted, error),
 * each in exactly the fields OpenClaw's schemas allow. One translator serves
 * every connection, so the text is accumulated once per run.
 */
export function createRunEventTranslator(now: () => number = Date.now) {
  const runs = new Map<string, RunProgress>();

  return (event: RunEvent): ProtocolEvent[] => {
    const { runId, sessionKey } = event;
    const agentId = agentIdOfSessionKey(sessionKey);
    let progress = runs.get(runId);
    const out: ProtocolEvent[] = [];
    const agent = (stream: string, data: Record<string, unknown>) => {
      const run = progress as RunProgress;
      out.push({ event: 'agent', payload: { runId, seq: run.agentSeq++, stream, ts: now(), data } });
    };
    const chat = (fields: Record<string, unknown>) =>
      out.push({ event: 'chat', payload: { runId, sessionKey, agentId, seq: event.seq, ...fields } });
    const assistantMessage = (text: string) => ({
      role: 'assistant',
      content: [{ type: 'text', text }],
      timestamp: now(),
    });

    if (!progress) {
      progress = { text: '', agentSeq: 0, startedAt: now() };
      runs.set(runId, progress);
      agent('lifecycle', { phase: 'start', startedAt: progress.startedAt });
    }
    switch (event.state) {
      case 'start':
        break;
      case 'delta': {
        const delta = event.delta ?? '';
        progress.text += delta;
        agent('assistant', { text: progress.text, delta });
        chat({ state: 'delta', deltaText: delta, message: assistantMessage(progress.text) });
        break;
      }
      case 'final': {
        const text = event.message?.content ?? progress.text;
        agent('lifecycle', {
          phase: 'end',
          startedAt: progress.startedAt,
          endedAt: now(),
          stopReason: 'stop',
        });
        chat({ state: 'final', stopReason: 'stop', message: assistantMessage(text) });
        break;
      }
      case 'aborted': {
        const text = event.message?.content ?? progress.text;
        // Cut off by the gateway stopping, or aborted by a client: the stored reply says which.
        const stopReason = event.message?.status === 'interrupted' ? 'interrupted' : 'aborted';
        agent('lifecycle', {
          phase: 'end',
          startedAt: progress.startedAt,
          endedAt: now(),
          aborted: true,
          stopReason,
        });
        chat({ state: 'aborted', stopReason, ...(text ? { message: assistantMessage(text) } : {}) });
        break;
      }
      case 'error': {
        const errorMessage = event.error?.message || 'The run failed';
        const text = event.message?.content ?? progress.text;
        agent('lifecycle', {
          phase: 'error',
          startedAt: progress.startedAt,
          endedAt: now(),
          error: errorMessage,
        });
        chat({
          state: 'error',
          errorMessage,
          ...errorKindOf(event.error?.code),
          ...(text ? { message: assistantMessage(text) } : {}),
        });
        break;
      }
    }
    if (event.state !== 'start' && event.state !== 'delta') runs.delete(runId);
    return out;
  };
}

/**
 * OpenClaw's classification of a failed run (`errorKind`), and in
 * `errorDetail` the HTTP status our error stands for and, for a provider's
 * failure, our code for it (docs/errors.md).
 */
function errorKindOf(code: ErrorCode | undefined) {
  if (!code) return { errorKind: 'unknown' };
  const httpStatus: number = ERROR_CODES[code].status;
  const errorKind =
    code === 'PROVIDER_RATE_LIMITED'
      ? 'rate_limit'
      : httpStatus === 408 || httpStatus === 504
        ? 'timeout'
        : 'unknown';
  return {
    errorKind,
    errorDetail: { httpStatus, ...(code.startsWith('PROVIDER_') ? { providerErrorType: code } : {}) },
  };
}
