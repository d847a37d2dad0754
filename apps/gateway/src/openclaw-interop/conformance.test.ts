import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startFakeOpenAI, streamReply } from '../../test/fake-providers/index.js';
import { newDevice, signConnect } from '../../test/support/device.js';
import { startTestGateway, type TestGateway, withOneAgent } from '../../test/support/gateway.js';
import { openClawSchemaErrors } from '../../test/support/openclaw-schemas.js';
import { ALL_SCOPES, connectParams } from '../../test/support/ws-client.js';
import type { GatewayConfig } from '../config/schema.js';

/**
 * Conformance with OpenClaw's gateway protocol v4: every frame our gateway
 * sends in a whole session (handshake, each method's answer, each event,
 * errors, ticks, the goodbye) validates against OpenClaw 2026.9.6's own JSON
 * Schemas, and every refused `connect` gets the error OpenClaw would give and
 * the close code it would use, at once.
 */

const KEY = `sk-test-${randomUUID()}`;
let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

async function gateway(
  options: { tickIntervalMs?: number; configure?: (config: GatewayConfig) => GatewayConfig } = {},
) {
  const provider = await startFakeOpenAI(streamReply(['Hello', ' from', ' the fake model.']), {
    apiKey: KEY,
  });
  const test = await startTestGateway({
    ...(options.tickIntervalMs ? { tickIntervalMs: options.tickIntervalMs } : {}),
    configure: (config) =>
      (options.configure ?? ((c) => c))(withOneAgent(config, { baseUrl: provider.baseUrl, apiKey: KEY })),
  });
  cleanups.push(async () => {
    await test.close();
    await provider.close();
  });
  return test;
}

type Frame = {
  type: string;
  id?: string;
  ok?: boolean;
  event?: string;
  payload?: Record<string, unknown> & { nonce?: string };
  error?: { code: string; message: string; details?: { code?: string } };
};

/** A raw socket that records every frame the gateway sends, and the close. */
async function open(test: TestGateway, headers: Record<string, string> = {}) {
  const ws = new WebSocket(test.url.replace(/^http/, 'ws'), { headers });
  const frames: Frame[] = [];
  const listeners = new Set<() => void>();
  ws.on('message', (data) => {
    frames.push(JSON.parse(data.toString()) as Frame);
    for (const listener of listeners) listener();
  });
  const closed = new Promise<{ code: number; at: number }>((resolve) =>
    ws.on('close', (code) => resolve({ code, at: Date.now() })),
  );
  cleanups.push(() => ws.close());
  const until = (predicate: (frame: Frame) => boolean) =>
    new Promise<Frame>((resolve) => {
      const check = () => {
        const found = frames.find(predicate);
        if (!found) return;
        listeners.delete(check);
        resolve(found);
      };
      listeners.add(check);
      check();
    });
  const challenge = await until((frame) => frame.event === 'connect.challenge');
  const nonce = challenge.payload?.nonce as string;
  const call = async (method: string, params?: unknown) => {
    const id = randomUUID();
    ws.send(JSON.stringify({ type: 'req', id, method, ...(params === undefined ? {} : { params }) }));
    return until((frame) => frame.type === 'res' && frame.id === id);
  };
  const responses = (id: string) => frames.filter((frame) => frame.type === 'res' && frame.id === id);
  return { ws, frames, nonce, call, until, responses, closed };
}

const payloadOf = (frame: Frame) => {
  if (!frame.ok) throw new Error(`expected success, got ${JSON.stringify(frame.error)}`);
  return frame.payload as Record<string, unknown>;
};

/** Which of OpenClaw's schemas an event's payload and a method's result must satisfy. */
const EVENT_SCHEMAS: Record<string, string> = {
  agent: 'AgentEventSchema',
  chat: 'ChatEventSchema',
  tick: 'TickEventSchema',
  shutdown: 'ShutdownEventSchema',
};
const RESULT_SCHEMAS: Record<string, string> = {
  connect: 'HelloOkSchema',
  'agents.list': 'AgentsListResultSchema',
  'agents.create': 'AgentsCreateResultSchema',
  'agents.update': 'AgentsUpdateResultSchema',
  'agents.delete': 'AgentsDeleteResultSchema',
  'sessions.delete': 'SessionsDeleteResultSchema',
};
/** The params our test sends, checked too: the suite speaks OpenClaw, not a dialect of our own. */
const PARAM_SCHEMAS: Record<string, string> = {
  connect: 'ConnectParamsSchema',
  agent: 'AgentParamsSchema',
  'chat.send': 'ChatSendParamsSchema',
  'chat.history': 'ChatHistoryParamsSchema',
  'chat.abort': 'ChatAbortParamsSchema',
  'sessions.list': 'SessionsListParamsSchema',
  'sessions.describe': 'SessionsDescribeParamsSchema',
  'sessions.delete': 'SessionsDeleteParamsSchema',
  'sessions.reset': 'SessionsResetParamsSchema',
  'agents.list': 'AgentsListParamsSchema',
  'agents.create': 'AgentsCreateParamsSchema',
  'agents.update': 'AgentsUpdateParamsSchema',
  'agents.delete': 'AgentsDeleteParamsSchema',
};

function expectConforms(frames: Frame[], methodOf: Map<string, string>) {
  let checkedResults = 0;
  let checkedEvents = 0;
  for (const frame of frames) {
    const where = JSON.stringify(frame).slice(0, 300);
    expect(openClawSchemaErrors('GatewayFrameSchema', frame), where).toEqual([]);
    if (frame.type === 'event' && frame.event && EVENT_SCHEMAS[frame.event]) {
      expect(openClawSchemaErrors(EVENT_SCHEMAS[frame.event] as string, frame.payload), where).toEqual([]);
      checkedEvents += 1;
    }
    if (frame.type === 'res' && frame.ok === false)
      expect(openClawSchemaErrors('ErrorShapeSchema', frame.error), where).toEqual([]);
    const schema = RESULT_SCHEMAS[methodOf.get(frame.id ?? '') ?? ''];
    if (frame.type === 'res' && frame.ok && schema) {
      expect(openClawSchemaErrors(schema, frame.payload), where).toEqual([]);
      checkedResults += 1;
    }
  }
  return { checkedResults, checkedEvents };
}

// A whole session with streamed runs: ~5 s idle, and once over 30 s under a load average of 13.
describe("OpenClaw protocol v4: every frame we send validates against OpenClaw's schemas", {
  timeout: 120_000,
}, () => {
  it('through a whole session: handshake, each method, streamed runs, errors, ticks and the shutdown', async () => {
    const test = await gateway({ tickIntervalMs: 250 });
    const client = await open(test);
    const methodOf = new Map<string, string>();
    const call = async (method: string, params?: unknown) => {
      if (PARAM_SCHEMAS[method])
        expect(openClawSchemaErrors(PARAM_SCHEMAS[method] as string, params ?? {}), method).toEqual([]);
      const frame = await client.call(method, params);
      methodOf.set(frame.id as string, method);
      return frame;
    };

    const hello = payloadOf(await call('connect', connectParams(test.token)));
    expect(hello).toMatchObject({
      type: 'hello-ok',
      protocol: 4,
      auth: { role: 'operator', scopes: ALL_SCOPES },
      snapshot: {
        sessionDefaults: { defaultAgentId: 'main', mainKey: 'main', mainSessionKey: 'agent:main:main' },
      },
    });
    const features = hello.features as { methods: string[]; events: string[] };
    for (const method of [
      'health',
      'status',
      'agent',
      'agent.wait',
      'chat.send',
      'chat.history',
      'sessions.reset',
    ])
      expect(features.methods).toContain(method);
    expect(features.events).toEqual(
      expect.arrayContaining(['connect.challenge', 'agent', 'chat', 'tick', 'shutdown']),
    );

    expect(payloadOf(await call('health'))).toMatchObject({ ok: true, defaultAgentId: 'main' });
    expect(payloadOf(await call('status'))).toMatchObject({ pid: process.pid });
    expect(payloadOf(await call('agents.list', {}))).toMatchObject({
      defaultId: 'main',
      agents: [{ id: 'main' }],
    });
    expect(
      payloadOf(await call('agents.create', { name: 'Helper Bot', model: 'openai/gpt-test' })),
    ).toMatchObject({
      ok: true,
      agentId: 'helper-bot',
    });
    expect(payloadOf(await call('agents.update', { agentId: 'helper-bot', name: 'Helper' }))).toEqual({
      ok: true,
      agentId: 'helper-bot',
    });
    expect(payloadOf(await call('agents.delete', { agentId: 'helper-bot' }))).toMatchObject({ ok: true });

    // chat.send on the bare name "main": the default agent's main session.
    const sent = payloadOf(
      await call('chat.send', { sessionKey: 'main', message: 'hi', idempotencyKey: randomUUID() }),
    );
    expect(sent).toMatchObject({ status: 'started', sessionKey: 'agent:main:main' });
    const final = await client.until(
      (frame) =>
        frame.event === 'chat' && frame.payload?.runId === sent.runId && frame.payload?.state === 'final',
    );
    expect(final.payload?.message).toMatchObject({
      role: 'assistant',
      content: [{ type: 'text', text: 'Hello from the fake model.' }],
    });
    const assistant = client.frames.filter(
      (frame) =>
        frame.event === 'agent' &&
        frame.payload?.runId === sent.runId &&
        frame.payload?.stream === 'assistant',
    );
    expect(assistant.map((frame) => (frame.payload?.data as { text?: string } | undefined)?.text)).toEqual([
      'Hello',
      'Hello from',
      'Hello from the fake model.',
    ]);

    // agent: two answers under one id, accepted then the result.
    const agentCall = await call('agent', {
      message: 'again',
      sessionKey: 'agent:main:probe',
      idempotencyKey: randomUUID(),
    });
    const accepted = payloadOf(agentCall);
    expect(accepted).toMatchObject({ status: 'accepted', sessionKey: 'agent:main:probe', agentId: 'main' });
    await client.until(() => client.responses(agentCall.id as string).length === 2);
    expect(payloadOf(client.responses(agentCall.id as string)[1] as Frame)).toMatchObject({
      runId: accepted.runId,
      status: 'ok',
      result: { payloads: [{ text: 'Hello from the fake model.' }] },
    });
    expect(payloadOf(await call('agent.wait', { runId: accepted.runId, timeoutMs: 5_000 }))).toMatchObject({
      status: 'ok',
    });

    const history = payloadOf(await call('chat.history', { sessionKey: 'main', limit: 10 }));
    expect(history.messages).toMatchObject([
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: [{ type: 'text', text: 'Hello from the fake model.' }] },
    ]);
    const listed = payloadOf(await call('sessions.list', { limit: 10 }));
    expect((listed.sessions as { key: string }[]).map((session) => session.key).sort()).toEqual([
      'agent:main:main',
      'agent:main:probe',
    ]);
    expect(payloadOf(await call('sessions.describe', { key: 'agent:main:probe' }))).toMatchObject({
      key: 'agent:main:probe',
    });
    expect(payloadOf(await call('chat.abort', { sessionKey: 'main' }))).toMatchObject({ aborted: false });
    expect(
      payloadOf(await call('sessions.reset', { key: 'agent:main:probe', reason: 'reset' })),
    ).toMatchObject({
      ok: true,
      key: 'agent:main:probe',
    });
    expect(payloadOf(await call('sessions.delete', { key: 'agent:main:probe' }))).toMatchObject({
      deleted: true,
    });

    // Errors a client can cause, in OpenClaw's codes (sent raw: these params are wrong on purpose).
    expect((await client.call('no.such.method', {})).error).toMatchObject({
      code: 'INVALID_REQUEST',
      message: 'unknown method: no.such.method',
    });
    expect((await client.call('chat.send', { sessionKey: 'main' })).error).toMatchObject({
      code: 'INVALID_REQUEST',
      details: { code: 'VALIDATION_FAILED' },
    });

    await client.until((frame) => frame.event === 'tick');
    await test.gateway.close();
    const closed = await client.closed;
    expect(closed.code).toBe(1012);
    expect(client.frames.at(-1)).toMatchObject({ type: 'event', event: 'shutdown' });

    const { checkedResults, checkedEvents } = expectConforms(client.frames, methodOf);
    // Not vacuous: each schema-checked result and the events of two streamed runs were seen.
    expect(checkedResults).toBe(Object.keys(RESULT_SCHEMAS).length);
    expect(checkedEvents).toBeGreaterThan(12);
  });
});

describe('OpenClaw protocol v4: a refused connect answers as OpenClaw would and closes at once', () => {
  type Refusal = {
    name: string;
    params: (test: TestGateway, nonce: string) => unknown;
    headers?: Record<string, string>;
    code: string;
    detail?: string;
    close: number;
  };
  const withDevice = (
    test: TestGateway,
    nonce: string,
    overrides: Parameters<typeof signConnect>[3] = {},
    tamper: (device: Record<string, unknown>) => void = () => {},
  ) => {
    const params = connectParams(test.token);
    const device: Record<string, unknown> = signConnect(newDevice(), params, nonce, overrides);
    tamper(device);
    return { ...params, device };
  };
  const refusals: Refusal[] = [
    {
      name: 'a protocol range without 4',
      params: (test) => ({ ...connectParams(test.token), minProtocol: 1, maxProtocol: 3 }),
      code: 'INVALID_REQUEST',
      detail: 'PROTOCOL_MISMATCH',
      close: 1002,
    },
    {
      name: 'a wrong token',
      params: (test) => connectParams(`${test.token}x`),
      code: 'INVALID_REQUEST',
      detail: 'AUTH_TOKEN_MISMATCH',
      close: 1008,
    },
    {
      name: 'no token',
      params: (test) => {
        const { auth: _auth, ...rest } = connectParams(test.token);
        return rest;
      },
      code: 'INVALID_REQUEST',
      detail: 'AUTH_TOKEN_MISSING',
      close: 1008,
    },
    {
      name: 'a field OpenClaw does not define',
      params: (test) => ({ ...connectParams(test.token), nonce: 'top-level nonces were our old dialect' }),
      code: 'INVALID_REQUEST',
      detail: 'INVALID_CONNECT_PARAMS',
      close: 1008,
    },
    {
      name: 'a client id OpenClaw does not know',
      params: (test) => ({
        ...connectParams(test.token),
        client: { id: 'x', version: '1', platform: 'l', mode: 'cli' },
      }),
      code: 'INVALID_REQUEST',
      detail: 'INVALID_CONNECT_PARAMS',
      close: 1008,
    },
    {
      name: 'a role other than operator',
      params: (test) => ({ ...connectParams(test.token), role: 'node' }),
      code: 'INVALID_REQUEST',
      detail: 'ROLE_UNSUPPORTED',
      close: 1008,
    },
    {
      name: 'a device signature with one bit flipped',
      params: (test, nonce) =>
        withDevice(test, nonce, {}, (device) => {
          const bytes = Buffer.from(device.signature as string, 'base64url');
          bytes[0] = (bytes[0] ?? 0) ^ 1;
          device.signature = bytes.toString('base64url');
        }),
      code: 'INVALID_REQUEST',
      detail: 'DEVICE_AUTH_SIGNATURE_INVALID',
      close: 1008,
    },
    {
      name: 'a device signed for another connection’s nonce (replay)',
      params: (test, nonce) => withDevice(test, `${nonce}-other`, {}, () => {}),
      code: 'INVALID_REQUEST',
      detail: 'DEVICE_AUTH_NONCE_MISMATCH',
      close: 1008,
    },
    {
      name: 'a device signature from ten minutes ago',
      params: (test, nonce) => withDevice(test, nonce, { signedAt: Date.now() - 600_000 }),
      code: 'INVALID_REQUEST',
      detail: 'DEVICE_AUTH_SIGNATURE_EXPIRED',
      close: 1008,
    },
    {
      name: 'a device id that is not its key’s fingerprint',
      params: (test, nonce) =>
        withDevice(test, nonce, {}, (device) => {
          device.id = 'f'.repeat(64);
        }),
      code: 'INVALID_REQUEST',
      detail: 'DEVICE_AUTH_DEVICE_ID_MISMATCH',
      close: 1008,
    },
    {
      name: 'a browser page (allowed Origin) without a device identity',
      params: (test) => connectParams(test.token),
      headers: { origin: 'http://app.example' },
      code: 'NOT_PAIRED',
      detail: 'DEVICE_IDENTITY_REQUIRED',
      close: 1008,
    },
  ];

  it.each(refusals.map((refusal) => [refusal.name, refusal] as const))('%s', async (_name, refusal) => {
    const test = await gateway({
      configure: (config) => ({
        ...config,
        gateway: { ...config.gateway, allowedOrigins: ['http://app.example'] },
      }),
    });
    const client = await open(test, refusal.headers);
    const params = refusal.params(test, client.nonce);
    const sentAt = Date.now();
    const answer = await client.call('connect', params);
    // A request pipelined behind the refused connect is never served.
    client.ws.send(JSON.stringify({ type: 'req', id: 'behind', method: 'health' }));
    const closed = await client.closed;
    expect(answer.error).toMatchObject({ code: refusal.code, details: { code: refusal.detail } });
    expect(openClawSchemaErrors('ErrorShapeSchema', answer.error)).toEqual([]);
    expect(closed.code).toBe(refusal.close);
    // At once: well before the 10 s handshake timeout.
    expect(closed.at - sentAt).toBeLessThan(5_000);
    expect(client.responses('behind')).toEqual([]);
  });

  it('accepts the same device identity when it is signed right (v3, and v2), also from an allowed browser Origin', async () => {
    const test = await gateway({
      configure: (config) => ({
        ...config,
        gateway: { ...config.gateway, allowedOrigins: ['http://app.example'] },
      }),
    });
    for (const version of ['v3', 'v2'] as const) {
      const client = await open(test, { origin: 'http://app.example' });
      const params = connectParams(test.token);
      const answer = await client.call('connect', {
        ...params,
        device: signConnect(newDevice(), params, client.nonce, { version }),
      });
      expect(payloadOf(answer)).toMatchObject({ type: 'hello-ok', protocol: 4 });
      client.ws.close();
    }
  });
});

describe('OpenClaw protocol v4: scopes', () => {
  it('a client gets only the scopes it asked for; a method beyond them answers FORBIDDEN / MISSING_SCOPE and runs nothing', async () => {
    const test = await gateway();
    const client = await open(test);
    const hello = payloadOf(
      await client.call('connect', connectParams(test.token, { scopes: ['operator.read', 'made.up.scope'] })),
    );
    expect(hello.auth).toMatchObject({ scopes: ['operator.read'] });
    expect(payloadOf(await client.call('sessions.list', {}))).toMatchObject({ sessions: [] });
    const refused = await client.call('chat.send', {
      sessionKey: 'main',
      message: 'hi',
      idempotencyKey: randomUUID(),
    });
    expect(refused.error).toMatchObject({
      code: 'FORBIDDEN',
      message: 'missing scope: operator.write',
      details: { code: 'MISSING_SCOPE', missingScope: 'operator.write', requiredScopes: ['operator.write'] },
    });
    expect((await client.call('agents.delete', { agentId: 'main' })).error).toMatchObject({
      details: { code: 'MISSING_SCOPE', missingScope: 'operator.admin' },
    });
    // Nothing ran: no session was created, the agent is still there.
    expect(payloadOf(await client.call('sessions.list', {}))).toMatchObject({ sessions: [] });
    expect(payloadOf(await client.call('agents.list', {}))).toMatchObject({ agents: [{ id: 'main' }] });
  });

  it('write implies read; admin implies both', async () => {
    const test = await gateway();
    const writer = await open(test);
    payloadOf(await writer.call('connect', connectParams(test.token, { scopes: ['operator.write'] })));
    expect(payloadOf(await writer.call('chat.history', { sessionKey: 'main' }))).toMatchObject({
      messages: [],
    });
    expect((await writer.call('sessions.reset', { key: 'main' })).error).toMatchObject({
      details: { missingScope: 'operator.admin' },
    });
  });
});
