import type { DesktopEvent, DesktopHistoryMessage } from '@multiclaw/protocol/desktop';
import { useEffect, useState } from 'react';
import { onEvent } from '../ipc/events';

export type RunState = 'streaming' | 'complete' | 'aborted' | 'interrupted' | 'error';
export interface Run {
  text: string;
  state: RunState;
  error?: string;
}
/** One line of a conversation: what the person said, or a reply (live by its run, or from history). */
export type Line =
  | { kind: 'user'; key: string; text: string }
  | { kind: 'assistant'; key: string; runId?: string; text?: string; state?: RunState; error?: string };

/** What a chat event says about its run; other events say nothing. */
function runUpdate(event: DesktopEvent): [string, Run] | undefined {
  switch (event.type) {
    case 'chat.delta':
      return [event.payload.runId, { text: event.payload.text, state: 'streaming' }];
    case 'chat.final':
      return [event.payload.runId, { text: event.payload.text, state: 'complete' }];
    case 'chat.aborted':
      return [event.payload.runId, { text: event.payload.text, state: event.payload.reason }];
    case 'chat.error':
      return [
        event.payload.runId,
        { text: event.payload.text, state: 'error', error: event.payload.message },
      ];
    default:
      return undefined;
  }
}

/**
 * Every reply's state by run id, from the event stream: kept for any run,
 * since its first events may arrive before `chat.send` has answered with its id.
 */
export function useChatRuns(): Record<string, Run> {
  const [runs, setRuns] = useState<Record<string, Run>>({});
  useEffect(
    () =>
      onEvent((event) => {
        const update = runUpdate(event);
        if (!update) return;
        const [runId, run] = update;
        setRuns((all) => {
          const before = all[runId];
          // A late delta never reopens an ended run.
          if (before && before.state !== 'streaming' && run.state === 'streaming') return all;
          return { ...all, [runId]: run };
        });
      }),
    [],
  );
  return runs;
}

/** A page of history (newest first) as lines, oldest first. */
export function linesOfHistory(messages: DesktopHistoryMessage[]): Line[] {
  return [...messages]
    .sort((a, b) => a.seq - b.seq)
    .filter((message) => message.role !== 'system')
    .map(
      (message): Line =>
        message.role === 'user'
          ? { kind: 'user', key: message.id, text: message.text }
          : {
              kind: 'assistant',
              key: message.id,
              text: message.text,
              state: message.status ?? 'complete',
              ...(message.errorMessage ? { error: message.errorMessage } : {}),
            },
    );
}
