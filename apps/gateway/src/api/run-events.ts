import { agentIdOfSessionKey, type RunEvent } from '@multiclaw/protocol';

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
        agent('lifecycle', {
          phase: 'end',
          startedAt: progress.startedAt,
          endedAt: now(),
          aborted: true,
          stopReason: 'aborted',
        });
        chat({
          state: 'aborted',
          stopReason: 'aborted',
          ...(text ? { message: assistantMessage(text) } : {}),
        });
        break;
      }
      case 'error': {
        const errorMessage = event.error?.message || 'The run failed';
        agent('lifecycle', {
          phase: 'error',
          startedAt: progress.startedAt,
          endedAt: now(),
          error: errorMessage,
        });
        chat({ state: 'error', errorMessage });
        break;
      }
    }
    if (event.state !== 'start' && event.state !== 'delta') runs.delete(runId);
    return out;
  };
}
