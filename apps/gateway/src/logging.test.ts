import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeOpenAI, streamReply } from '../test/fake-providers/index.js';
import { startTestGateway } from '../test/support/gateway.js';
import { connectControlClient } from '../test/support/ws-client.js';

/** Credentials must never reach the logs, whatever path a request takes. */
const PROVIDER_KEY = `sk-leakcheck-${randomUUID()}`;
let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

describe('logs', () => {
  it('never contain the gateway token or a provider key, on success, failure or refusal', async () => {
    const provider = await startFakeOpenAI(streamReply(['ok']), { apiKey: PROVIDER_KEY });
    const test = await startTestGateway({
      configure: (config) => ({
        ...config,
        agents: { list: [{ id: 'a', name: 'A', model: 'p/m' }] },
        models: {
          providers: {
            p: {
              api: 'openai-completions',
              baseUrl: provider.baseUrl,
              apiKey: PROVIDER_KEY,
              allowedAgents: ['a'],
            },
          },
        },
      }),
    });
    cleanup.push(provider.close, test.close);
    const wrongToken = `${test.token.slice(0, -4)}AAAA`;
    const text = () => JSON.stringify(test.logs);

    // Success over HTTP, a wrong token, a token in the query string, a refused origin.
    await fetch(`${test.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { ...test.authHeaders, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'a', messages: [{ role: 'user', content: 'hi' }] }),
    });
    await fetch(`${test.url}/v1/models`, { headers: { authorization: `Bearer ${wrongToken}` } });
    await fetch(`${test.url}/v1/models?token=${test.token}&access_token=${test.token}`);
    await fetch(`${test.url}/v1/models`, { headers: { ...test.authHeaders, origin: 'http://evil.example' } });
    // A run over WebSocket that fails at the provider (its error body echoes the key's prefix).
    const { client } = await connectControlClient(test.url, test.token);
    provider.setScript({ kind: 'error', status: 401 });
    const sent = await client.request('chat.send', {
      agentId: 'a',
      sessionKey: 'main',
      message: 'x',
      idempotencyKey: randomUUID(),
    });
    const runId = sent.ok ? (sent.payload as { runId: string }).runId : '';
    const chat = (payload: unknown) => payload as { runId: string; state: string };
    const end = await client.nextEvent(
      (event) =>
        event.event === 'chat' &&
        chat(event.payload).runId === runId &&
        chat(event.payload).state !== 'delta',
    );
    expect(chat(end.payload).state).toBe('error');
    client.close();
    // Invalid edits of the config, which the running gateway reports: a syntax error right after the
    // token (V8's JSON errors quote the text around the error) and a schema error.
    const path = test.gateway.config.paths.configPath;
    await writeFile(path, `{"gateway":{"auth":{"token":x"${test.token}"}}}`, { mode: 0o600 });
    await test.gateway.config.current();
    await writeFile(path, JSON.stringify({ gateway: { auth: { token: test.token }, port: test.token } }), {
      mode: 0o600,
    });
    await test.gateway.config.current();
    expect(text()).toContain('ignoring an invalid edit of the config');

    expect(test.logs.length).toBeGreaterThan(5);
    expect(text()).toContain('/v1/models');
    for (const secret of [
      test.token,
      wrongToken,
      PROVIDER_KEY,
      test.token.slice(0, 6),
      PROVIDER_KEY.slice(0, 20),
    ]) {
      expect(text()).not.toContain(secret);
    }
  });
});
