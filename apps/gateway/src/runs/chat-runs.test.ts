import { randomUUID } from 'node:crypto';
import { type GatewayEventFrame, RunEvent, StoredMessage } from '@multiclaw/protocol';
import { afterEach, describe, expect, it } from 'vitest';
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

const chatEvents = (client: ControlClient, runId: string) =>
  client.events
    .filter((event) => event.event === 'chat')
    .map((event) => RunEvent.parse(event.payload))
    .filter((event) => event.runId === runId);

const terminal = (client: ControlClient, runId: string) =>
  client.nextEvent((event: GatewayEventFrame) => {
    if (event.event !== 'chat') return false;
    const payload = RunEvent.parse(event.payload);
    return payload.runId === runId && payload.state !== 'delta';
  });

async function send(client: ControlClient, params: Record<string, unknown>) {
  const response = await client.request('chat.send', { idempotencyKey: randomUUID(), ...params });
  if (!response.ok) throw new Error(`chat.send failed: ${response.error.code} ${response.error.message}`);
  return response.payload as { runId: string; sessionKey: string; status: string };
}

describe('chat.send', () => {
  it('streams deltas then a final event, sends only the agent’s own key, and stores both messages', async () => {
    const { client, openai } = await setup();
    const { runId, sessionKey, status } = await send(client, { agentId: 'writer', message: 'Say hello' });
    expect(status).toBe('started');
    const final = RunEvent.parse((await terminal(client, runId)).payload);
    expect(final.state).toBe('final');
    expect(final.message?.content).toBe('Hello there');

    const events = chatEvents(client, runId);
    expect(events.filter((event) => event.state === 'delta').map((event) => event.delta)).toEqual([
      'Hel',
      'lo',
      ' there',
    ]);
    expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index));

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

    const history = await client.request('sessions.history', { sessionKey });
    expect(history.ok).toBe(true);
    const messages = (history as { payload: { messages: unknown[] } }).payload.messages.map((m) =>
      StoredMessage.parse(m),
    );
    expect(messages.map((m) => [m.seq, m.role, m.content, m.status])).toEqual([
      [1, 'user', 'Say hello', undefined],
      [2, 'assistant', 'Hello there', 'complete'],
    ]);
    expect(new Set(messages.map((m) => m.id)).size).toBe(2);
  });

  it('continues a session with its history and speaks the Anthropic format for an Anthropic agent', async () => {
    const { client, anthropic } = await setup();
    const first = await send(client, { agentId: 'poet', message: 'A poem?' });
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
      message: 'hi',
      idempotencyKey: randomUUID(),
    });
    expect(response.ok).toBe(false);
    expect(!response.ok && response.error.code).toBe('AGENT_CREDENTIAL_NOT_GRANTED');
    expect(openai.requests).toHaveLength(0);
    const sessions = await client.request('sessions.list', {});
    expect((sessions as { payload: { sessions: unknown[] } }).payload.sessions).toEqual([]);
  });

  it('returns the same run for a repeated idempotency key and refuses the key for a different message', async () => {
    const { client, openai } = await setup();
    const idempotencyKey = randomUUID();
    const first = await send(client, { agentId: 'writer', message: 'once', idempotencyKey });
    await terminal(client, first.runId);
    const again = await send(client, { agentId: 'writer', message: 'once', idempotencyKey });
    expect(again).toEqual({ runId: first.runId, sessionKey: first.sessionKey, status: 'ok' });
    expect(openai.requests).toHaveLength(1);
    const other = await client.request('chat.send', { agentId: 'writer', message: 'twice', idempotencyKey });
    expect(!other.ok && other.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
  });

  it('remembers idempotency keys across a gateway restart', async () => {
    const { test, client, openai } = await setup();
    const idempotencyKey = randomUUID();
    const first = await send(client, { agentId: 'writer', message: 'persist me', idempotencyKey });
    await terminal(client, first.runId);
    client.close();
    await test.gateway.close();
    const restarted = await startTestGateway({ stateDir: test.stateDir });
    try {
      const { client: again } = await connectControlClient(restarted.url, restarted.token);
      const retry = await send(again, { agentId: 'writer', message: 'persist me', idempotencyKey });
      expect(retry).toEqual({ runId: first.runId, sessionKey: first.sessionKey, status: 'ok' });
      expect(openai.requests).toHaveLength(1);
      const history = (await again.request('sessions.history', { sessionKey: first.sessionKey })) as {
        payload: { messages: StoredMessage[] };
      };
      expect(history.payload.messages.map((m) => m.content)).toEqual(['persist me', 'Hello there']);
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
      (event) => event.event === 'chat' && RunEvent.parse(event.payload).delta === 'two ',
    );
    const busy = await client.request('chat.send', {
      agentId: 'writer',
      sessionKey,
      message: 'more',
      idempotencyKey: randomUUID(),
    });
    expect(!busy.ok && busy.error.code).toBe('SESSION_BUSY');
    const aborted = await client.request('chat.abort', { sessionKey, runId });
    expect(aborted).toMatchObject({ ok: true, payload: { aborted: true } });
    const end = RunEvent.parse((await terminal(client, runId)).payload);
    expect(end.state).toBe('aborted');
    expect(end.message).toMatchObject({ role: 'assistant', content: 'one two ', status: 'aborted' });
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
      const { client, openai } = await setup();
      script(openai);
      const { runId, sessionKey } = await send(client, { agentId: 'writer', message: 'hi' });
      const end = RunEvent.parse((await terminal(client, runId)).payload);
      expect(end.state).toBe('error');
      expect(end.error?.code).toBe(code);
      if (code === 'PROVIDER_RATE_LIMITED') expect(end.error?.details?.retryAfterSeconds).toBe(17);
      expect(JSON.stringify(end)).not.toContain(OPENAI_KEY);
      const history = (await client.request('sessions.history', { sessionKey })) as {
        payload: { messages: StoredMessage[] };
      };
      expect(history.payload.messages.at(-1)).toMatchObject({
        role: 'assistant',
        status: 'error',
        error: { code },
      });
    });
  });
});
