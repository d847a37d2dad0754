import { type DesktopEvent, ErrorCode } from '@multiclaw/protocol';
import { z } from 'zod';

/** The gateway's `chat` event (OpenClaw's shape, apps/gateway/src/api/run-events.ts), the parts the UI needs. */
const GatewayChatEvent = z.object({
  runId: z.string(),
  sessionKey: z.string(),
  agentId: z.string(),
  seq: z.number().int(),
  state: z.enum(['delta', 'final', 'aborted', 'error']),
  deltaText: z.string().optional(),
  stopReason: z.string().optional(),
  errorMessage: z.string().optional(),
  errorDetail: z.object({ providerErrorType: z.string().optional() }).optional(),
  message: z.object({ content: z.array(z.object({ text: z.string() })) }).optional(),
});

/** A gateway event as the UI's event, or undefined for events the UI does not follow (`agent`, `tick`). */
export function chatEventOf(event: string, payload: unknown): DesktopEvent | undefined {
  if (event !== 'chat') return undefined;
  const parsed = GatewayChatEvent.safeParse(payload);
  if (!parsed.success) return undefined;
  const chat = parsed.data;
  const run = { runId: chat.runId, sessionKey: chat.sessionKey, agentId: chat.agentId, seq: chat.seq };
  const text = chat.message?.content.map((part) => part.text).join('') ?? '';
  switch (chat.state) {
    case 'delta':
      return { type: 'chat.delta', payload: { ...run, delta: chat.deltaText ?? '', text } };
    case 'final':
      return { type: 'chat.final', payload: { ...run, text } };
    case 'aborted':
      return {
        type: 'chat.aborted',
        payload: { ...run, text, reason: chat.stopReason === 'interrupted' ? 'interrupted' : 'aborted' },
      };
    case 'error': {
      const code = ErrorCode.safeParse(chat.errorDetail?.providerErrorType);
      return {
        type: 'chat.error',
        payload: {
          ...run,
          message: chat.errorMessage ?? 'The reply failed',
          ...(code.success ? { code: code.data } : {}),
          text,
        },
      };
    }
  }
}
