import { randomUUID } from 'node:crypto';
import { type GatewayEventFrame, StoredMessage } from '@multiclaw/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  type FakeProvider,
  startFakeAnthropic,
  startFakeOpenAI,
  streamReply,
} from '../../test/fake-providers/index.js';
import { startTestGateway } from '../../test/support/gateway.js';
import { type ControlClient, connectControlClient } from '../../test/support/ws-client.js';

const OPENAI_KEY = `sk-test-${randomUUID()}`;
const ANTHROPIC_KEY = `sk-ant-test-${randomUUID()}`;

let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

/** A gateway with agent `writer` (OpenAI format, granted the key), `intruder` (same provider, not granted) and `poet` (Anthropic). */
async function setup() {
  const openai = await startFakeOpenAI(streamReply(['Hel', 'lo', ' there']), { apiKey: OPENAI_KEY });
  const anthropic = await startFakeAnthropic(streamReply(['Roses ', 'are ', 'red']), {
    apiKey: ANTHROPIC_KEY,
  });
  const test = await startTestGateway({
    configure: (config) => ({
      ...config,
      agents: {
        list: [
          { id: 'writer', name: 'Writer', model: 'openai/gpt-test', systemPrompt: 'Be brief.' },
          { id: 'intruder', name: 'Intruder', model: 'openai/gpt-test' },
          { id: 'poet', name: 'Poet', model: 'anthropic/claude-test', maxTokens: 256 },
        ],
      },
      models: {
        providers: {
          openai: {
            api: 'openai-completions',
            baseUrl: openai.baseUrl,
            apiKey: OPENAI_KEY,
            allowedAgents: ['writer'],
          },
          anthropic: {
            api: 'anthropic-messages',
            baseUrl: anthropic.baseUrl,
            apiKey: ANTHROPIC_KEY,
            allowedAgents: ['poet'],
          },
        },
      },
    }),
  });
  const { client } = await connectControlClient(test.url, test.token);
  cleanups.push(async () => {
    client.close();
    await test.close();
    await openai.close();
    await anthropic.close();
  });
  return { test, client, openai, anthropic };
}

/** Assistant text as OpenClaw sends it: content parts. */
const TextParts = z.array(z.strictObject({ type: z.literal('text'), text: z.string() }));

/** A `chat` event as OpenClaw's clients receive it (the conformance suite checks it against OpenClaw's schema). */
const ChatEvent = z.strictObject({
  runId: z.string(),
  sessionKey: z.string(),
  agentId: z.string(),
  seq: z.number().int().nonnegative(),
  state: z.enum(['delta', 'final', 'aborted', 'error']),
  deltaText: z.string().optional(),
  message: z
    .strictObject({ role: z.literal('assistant'), content: TextParts, timestamp: z.number().int() })
    .optional(),
  stopReason: z.string().optional(),
  errorMessage: z.string().optional(),
  errorKind: z.enum(['rate_limit', 'timeout', 'unknown']).optional(),
  errorDetail: z.strictObject({ httpStatus: z.number().int(), providerErrorType: z.string() }).optional(),
});
type ChatEvent = z.infer<typeof ChatEvent>;

/** An `agent` event: lifecycle and assistant streams. */
const AgentEvent = z.strictObject({
  runId: z.string(),
  seq: z.number().int().nonnegative(),
  stream: z.enum(['lifecycle', 'assistant']),
  ts: z.number().int(),
  data: z.record(z.string(), z.unknown()),
});

/** A message as `chat.history` answers it. */
const HistoryMessage = z.strictObject({
  role: z.enum(['system', 'user', 'assistant']),
  content: z.union([z.string(), TextParts]),
  timestamp: z.number().int(),
  id: z.string(),
  seq: z.number().int().positive(),
  runId: z.string().optional(),
  status: StoredMessage.shape.status,
  errorMessage: z.string().optional(),
});
type HistoryMessage = z.infer<typeof HistoryMessage>;

const textOf = (content: HistoryMessage['content'] | undefined) =>
  typeof content === 'string' ? content : (content ?? []).map((part) => part.text).join('');

const chatEvents = (client: ControlClient, runId: string) =>
  client.events
    .filter((event) => event.event === 'chat')
    .map((event) => ChatEvent.parse(event.payload))
    .filter((event) => event.runId === runId);

const agentEvents = (client: ControlClient, runId: string) =>
  client.events
    .filter((event) => event.event === 'agent')
    .map((event) => AgentEvent.parse(event.payload))
    .filter((event) => event.runId === runId);

const terminal = async (client: ControlClient, runId: string): Promise<ChatEvent> =>
  ChatEvent.parse(
    (
      await client.nextEvent((event: GatewayEventFrame) => {
        if (event.event !== 'chat') return false;
        const payload = ChatEvent.parse(event.payload);
        return payload.runId === runId && payload.state !== 'delta';
      })
    ).payload,
  );

/** Sends in a fresh session of the agent (a bare name: the agent's own) unless `sessionKey` is given. */
async function send(client: ControlClient, params: Record<string, unknown>) {
  const response = await client.request('chat.send', {
    idempotencyKey: randomUUID(),
    sessionKey: `test-${randomUUID()}`,
    ...params,
  });
  if (!response.ok) throw new Error(`chat.send failed: ${response.error.code} ${response.error.message}`);
  return response.payload as { runId: string; sessionKey: string; status: string };
}

async function historyOf(client: ControlClient, sessionKey: string): Promise<HistoryMessage[]> {
  const response = await client.request('chat.history', { sessionKey });
  if (!response.ok) throw new Error(`chat.history failed: ${response.error.message}`);
  const payload = response.payload as { sessionKey: string; messages: unknown[] };
  expect(payload.sessionKey).toBe(sessionKey);
  return payload.messages.map((message) => HistoryMessage.parse(message));
}

describe('chat.send', () => {
  it('streams deltas then a final event, sends only the agent’s own key, and stores both messages', async () => {
    const { client, openai } = await setup();
    const idempotencyKey = randomUUID();
    const { runId, sessionKey, status } = await send(client, {
      agentId: 'writer',
      sessionKey: 'greeting',
      message: 'Say hello',
      idempotencyKey,
    });
    expect(status).toBe('started');
    expect(sessionKey).toBe('agent:writer:greeting');
    // OpenClaw's clients find their run by the idempotency key they sent, when it is a UUID.
    expect(runId).toBe(idempotencyKey);
    const final = await terminal(client, runId);
    expect(final).toMatchObject({
      state: 'final',
      sessionKey,
      agentId: 'writer',
      stopReason: 'stop',
      message: { role: 'assistant', content: [{ type: 'text', text: 'Hello there' }] },
    });

    const events = chatEvents(client, runId);
    const deltas = events.filter((event) => event.state === 'delta');
    expect(deltas.map((event) => event.deltaText)).toEqual(['Hel', 'lo', ' there']);
    // Each delta carries the text so far, as OpenClaw's clients render it.
    expect(deltas.map((event) => textOf(event.message?.content))).toEqual(['Hel', 'Hello', 'Hello there']);
    expect(events.map((event) => event.state)).toEqual(['delta', 'delta', 'delta', 'final']);
    // In order and without gaps.
    const first = events[0]?.seq ?? 0;
    expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => first + index));
    const agent = agentEvents(client, runId);
    expect(agent.map((event) => [event.seq, event.stream, event.data.phase ?? event.data.text])).toEqual([
      [0, 'lifecycle', 'start'],
      [1, 'assistant', 'Hel'],
      [2, 'assistant', 'Hello'],
      [3, 'assistant', 'Hello there'],
      [4, 'lifecycle', 'end'],
    ]);

    expect(openai.requests).toHaveLength(1);
    const request = openai.requests[0];
    expect(request?.headers.authorization).toBe(`Bearer ${OPENAI_KEY}`);
    expect(request?.body).toMatchObject({
      model: 'gpt-test',
      stream: true,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Say hello' },
      ],
    });

    const messages = await historyOf(client, sessionKey);
    expect(messages.map((m) => [m.seq, m.role, m.content, m.status, m.runId])).toEqual([
      [1, 'user', 'Say hello', undefined, runId],
      [2, 'assistant', [{ type: 'text', text: 'Hello there' }], 'complete', runId],
    ]);
    expect(new Set(messages.map((m) => m.id)).size).toBe(2);
  });

  it('continues a session with its history and speaks the Anthropic format for an Anthropic agent', async () => {
    const { client, anthropic } = await setup();
    const first = await send(client, { agentId: 'poet', message: 'A poem?' });
    expect(first.sessionKey).toMatch(/^agent:poet:test-/);
    await terminal(client, first.runId);
    const second = await send(client, { agentId: 'poet', sessionKey: first.sessionKey, message: 'Another' });
    expect(second.sessionKey).toBe(first.sessionKey);
    await terminal(client, second.runId);
    expect(anthropic.requests).toHaveLength(2);
    expect(anthropic.requests[1]?.headers['x-api-key']).toBe(ANTHROPIC_KEY);
    expect(anthropic.requests[1]?.body).toMatchObject({
      model: 'claude-test',
      max_tokens: 256,
      stream: true,
      messages: [
        { role: 'user', content: 'A poem?' },
        { role: 'assistant', content: 'Roses are red' },
        { role: 'user', content: 'Another' },
      ],
    });
  });

  it('refuses an agent that is not granted its provider’s credential, before anything is sent or stored', async () => {
    const { client, openai } = await setup();
    const response = await client.request('chat.send', {
      agentId: 'intruder',
      sessionKey: 'main',
      message: 'hi',
      idempotencyKey: randomUUID(),
    });
    expect(response.ok).toBe(false);
    expect(!response.ok && response.error).toMatchObject({
      code: 'FORBIDDEN',
      details: { code: 'AGENT_CREDENTIAL_NOT_GRANTED' },
    });
    expect(openai.requests).toHaveLength(0);
    const sessions = await client.request('sessions.list', {});
    expect(sessions).toMatchObject({ ok: true, payload: { count: 0, totalCount: 0, sessions: [] } });
  });

  it('returns the same run for a repeated idempotency key and refuses the key for a different message', async () => {
    const { client, openai } = await setup();
    const idempotencyKey = randomUUID();
    const request = { agentId: 'writer', sessionKey: 'once', message: 'once', idempotencyKey };
    const first = await send(client, request);
    await terminal(client, first.runId);
    const again = await send(client, request);
    expect(again).toEqual({ runId: first.runId, sessionKey: first.sessionKey, status: 'ok' });
    expect(openai.requests).toHaveLength(1);
    const other = await client.request('chat.send', { ...request, message: 'twice' });
    expect(!other.ok && other.error.details?.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(openai.requests).toHaveLength(1);
  });

  it('remembers idempotency keys across a gateway restart', async () => {
    const { test, client, openai } = await setup();
    const request = {
      agentId: 'writer',
      sessionKey: 'kept',
      message: 'persist me',
      idempotencyKey: randomUUID(),
    };
    const first = await send(client, request);
    await terminal(client, first.runId);
    client.close();
    await test.gateway.close();
    const restarted = await startTestGateway({ stateDir: test.stateDir });
    try {
      const { client: again } = await connectControlClient(restarted.url, restarted.token);
      const retry = await send(again, request);
      expect(retry).toEqual({ runId: first.runId, sessionKey: first.sessionKey, status: 'ok' });
      expect(openai.requests).toHaveLength(1);
      const history = await historyOf(again, first.sessionKey);
      expect(history.map((m) => textOf(m.content))).toEqual(['persist me', 'Hello there']);
      again.close();
    } finally {
      await restarted.gateway.close();
    }
  });

  it('aborts a run mid-stream, stores the partial reply as aborted, and closes the provider request', async () => {
    const { client, openai } = await setup();
    openai.setScript(
      streamReply(['one ', 'two ', 'three ', 'four'], {
        chunkDelayMs: 0,
        interrupt: { afterChunks: 2, action: 'hang' },
      }),
    );
    const { runId, sessionKey } = await send(client, { agentId: 'writer', message: 'count' });
    await client.nextEvent(
      (event) =>
        event.event === 'chat' &&
        ChatEvent.parse(event.payload).runId === runId &&
        ChatEvent.parse(event.payload).deltaText === 'two ',
    );
    const busy = await client.request('chat.send', {
      agentId: 'writer',
      sessionKey,
      message: 'more',
      idempotencyKey: randomUUID(),
    });
    expect(!busy.ok && busy.error).toMatchObject({ code: 'UNAVAILABLE', details: { code: 'SESSION_BUSY' } });
    const aborted = await client.request('chat.abort', { sessionKey, runId });
    expect(aborted).toMatchObject({ ok: true, payload: { aborted: true, runIds: [runId] } });
    const end = await terminal(client, runId);
    expect(end).toMatchObject({
      state: 'aborted',
      stopReason: 'aborted',
      message: { role: 'assistant', content: [{ type: 'text', text: 'one two ' }] },
    });
    const stored = await historyOf(client, sessionKey);
    expect(stored.map((m) => [m.role, m.content, m.status])).toEqual([
      ['user', 'count', undefined],
      ['assistant', [{ type: 'text', text: 'one two ' }], 'aborted'],
    ]);
    expect(await openai.requests[0]?.closed).toEqual({ completed: false });
    const again = await client.request('chat.abort', { sessionKey, runId });
    expect(again).toMatchObject({ ok: true, payload: { aborted: false } });
  });

  describe('provider errors reach the user as clear errors and the failed turn is stored', () => {
    const cases: [string, (provider: FakeProvider) => void, string][] = [
      ['401', (p) => p.setScript({ kind: 'error', status: 401 }), 'PROVIDER_AUTH_FAILED'],
      [
        '429',
        (p) => p.setScript({ kind: 'error', status: 429, headers: { 'retry-after': '17' } }),
        'PROVIDER_RATE_LIMITED',
      ],
      ['500', (p) => p.setScript({ kind: 'error', status: 500 }), 'PROVIDER_UNAVAILABLE'],
      [
        'malformed stream',
        (p) => p.setScript(streamReply(['a', 'b'], { interrupt: { afterChunks: 1, action: 'malformed' } })),
        'PROVIDER_BAD_RESPONSE',
      ],
      [
        'connection reset',
        (p) => p.setScript(streamReply(['a', 'b'], { interrupt: { afterChunks: 1, action: 'reset' } })),
        'PROVIDER_UNREACHABLE',
      ],
    ];
    it.each(cases)('%s', async (_name, script, code) => {
      const { test, client, openai } = await setup();
      script(openai);
      const { runId, sessionKey } = await send(client, { agentId: 'writer', message: 'hi' });
      const end = await terminal(client, runId);
      expect(end.state).toBe('error');
      // The user reads what went wrong in the error's own words.
      const stored = (await test.gateway.store.history(sessionKey, { limit: 10 })).messages.at(-1);
      expect(stored).toMatchObject({ role: 'assistant', status: 'error', error: { code } });
      expect(end.errorMessage).toBe(stored?.error?.message);
      expect(end.errorMessage?.length).toBeGreaterThan(0);
      // Which failure it was, in OpenClaw's terms: a rate limit is one a client may wait out.
      expect(end.errorKind).toBe(code === 'PROVIDER_RATE_LIMITED' ? 'rate_limit' : 'unknown');
      expect(end.errorDetail?.providerErrorType).toBe(code);
      if (code === 'PROVIDER_RATE_LIMITED') expect(stored?.error?.details?.retryAfterSeconds).toBe(17);
      expect(JSON.stringify(end)).not.toContain(OPENAI_KEY);
      const history = await historyOf(client, sessionKey);
      expect(history.at(-1)).toMatchObject({
        role: 'assistant',
        status: 'error',
        errorMessage: end.errorMessage,
      });
      expect(JSON.stringify(history)).not.toContain(OPENAI_KEY);
    });
  });
});
