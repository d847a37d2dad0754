import type { RunEvent } from '@multiclaw/protocol';
import { describe, expect, it } from 'vitest';
import { openClawSchemaErrors } from '../../test/support/openclaw-schemas.js';
import { createRunEventTranslator } from './run-events.js';

/** The run service's events turned into OpenClaw's `agent` and `chat` events, each valid by OpenClaw's schema. */
const runId = '0b6f3e06-02eb-4d17-bc30-c6072e78996b';
const sessionKey = 'agent:main:main';
const stored = (status: 'interrupted' | 'aborted' | 'error', content: string) => ({
  id: '16e3157a-f0dd-4126-811c-d77a2db845cc',
  sessionKey,
  seq: 2,
  role: 'assistant' as const,
  content,
  createdAt: '2026-11-30T20:00:00.000Z',
  status,
});

function translate(events: Omit<RunEvent, 'runId' | 'sessionKey' | 'seq'>[]) {
  const translator = createRunEventTranslator(() => 1_800_000_000_000);
  const out = events.flatMap((event, seq) => translator({ runId, sessionKey, seq, ...event }));
  for (const { event, payload } of out)
    expect(openClawSchemaErrors(event === 'chat' ? 'ChatEventSchema' : 'AgentEventSchema', payload)).toEqual(
      [],
    );
  return out;
}

describe('run events in OpenClaw’s shapes', () => {
  it('a cut-off reply says interrupted, not a client’s abort, and keeps its text', () => {
    const out = translate([
      { state: 'start' },
      { state: 'delta', delta: 'par' },
      { state: 'aborted', message: stored('interrupted', 'par') },
    ]);
    expect(out.at(-1)?.payload).toMatchObject({
      state: 'aborted',
      stopReason: 'interrupted',
      message: { content: [{ type: 'text', text: 'par' }] },
    });
  });

  it('a failure says what kind, with the partial text', () => {
    const out = translate([
      { state: 'start' },
      { state: 'delta', delta: 'par' },
      {
        state: 'error',
        message: stored('error', 'par'),
        error: { code: 'PROVIDER_RATE_LIMITED', message: 'slow down', details: { retryAfterSeconds: 17 } },
      },
    ]);
    expect(out.at(-1)?.payload).toMatchObject({
      state: 'error',
      errorMessage: 'slow down',
      errorKind: 'rate_limit',
      errorDetail: { httpStatus: 429, providerErrorType: 'PROVIDER_RATE_LIMITED' },
      message: { content: [{ type: 'text', text: 'par' }] },
    });
  });
});
