import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import {
  ConnectChallenge,
  GATEWAY_PROTOCOL_VERSION,
  GatewayEventFrame,
  GatewayResponseFrame,
  HelloOk,
} from '@multiclaw/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { startTestGateway, type TestGateway } from '../../test/support/gateway.js';
import {
  type ControlClient,
  connectControlClient,
  connectParams,
  openControlSocket,
} from '../../test/support/ws-client.js';
import type { GatewayConfig } from '../config/schema.js';
import { GATEWAY_VERSION } from '../version.js';

/**
 * The WebSocket control protocol (OpenClaw protocol v4) end to end over real
 * sockets, for what the conformance suite (openclaw-interop/conformance.test.ts)
 * does not check: the challenge, frame order, the frame-validation policy
 * (one warning then close after connect, no second chance before it), payload
 * limits, each method's effect on the config file and the local store, and
 * ticks. Refused connects and scopes are the conformance suite's.
 */

let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

async function gateway(
  configure?: (config: GatewayConfig) => GatewayConfig,
  options: { tickIntervalMs?: number } = {},
): Promise<TestGateway> {
  const test = await startTestGateway({ ...(configure ? { configure } : {}), ...options });
  cleanups.push(() => test.close());
  return test;
}

/** Every frame the server sends on `ws` from now on, including responses the helper cannot route (id "unknown"). */
function record(ws: WebSocket) {
  const frames: (GatewayResponseFrame | GatewayEventFrame)[] = [];
  const waiters: {
    predicate: (frame: GatewayResponseFrame) => boolean;
    resolve: (frame: GatewayResponseFrame) => void;
    reject: (error: Error) => void;
  }[] = [];
  ws.on('close', (code) => {
    for (const waiter of waiters.splice(0))
      waiter.reject(new Error(`socket closed (${code}) before the response`));
  });
  ws.on('message', (data) => {
    const json: unknown = JSON.parse(data.toString());
    const response = GatewayResponseFrame.safeParse(json);
    if (!response.success) {
      frames.push(GatewayEventFrame.parse(json));
      return;
    }
    frames.push(response.data);
    for (const waiter of [...waiters]) {
      if (waiter.predicate(response.data)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(response.data);
      }
    }
  });
  return {
    frames,
    responses: () => frames.filter((frame): frame is GatewayResponseFrame => frame.type === 'res'),
    /** The response with this id. */
    response: (id: string) =>
      new Promise<GatewayResponseFrame>((resolve, reject) => {
        const predicate = (frame: GatewayResponseFrame) => frame.id === id;
        const seen = frames.find(
          (frame): frame is GatewayResponseFrame => frame.type === 'res' && predicate(frame),
        );
        if (seen) return resolve(seen);
        if (ws.readyState !== ws.OPEN) return reject(new Error('socket already closed'));
        waiters.push({ predicate, resolve, reject });
      }),
  };
}

function errorOf(frame: GatewayResponseFrame) {
  if (frame.ok) throw new Error(`expected an error response, got ${JSON.stringify(frame.payload)}`);
  return frame.error;
}

function payloadOf<T = Record<string, unknown>>(frame: GatewayResponseFrame): T {
  if (!frame.ok) throw new Error(`expected a success response, got ${JSON.stringify(frame.error)}`);
  return frame.payload as T;
}

/** Our error code, which OpenClaw's error shape carries in `details.code`. */
const detailCodeOf = (frame: GatewayResponseFrame) => errorOf(frame).details?.code;

async function connected(test: TestGateway): Promise<ControlClient> {
  const { client } = await connectControlClient(test.url, test.token);
  cleanups.push(() => client.close());
  return client;
}

const isOpen = (client: ControlClient) => client.ws.readyState === client.ws.OPEN;

/** A request the server certainly answered after everything sent before it: proves the socket still works. */
async function stillServes(client: ControlClient) {
  const health = await client.request('health');
  expect(health.ok).toBe(true);
}

describe('connect.challenge', () => {
  it('opens every connection with a fresh nonce and a timestamp', async () => {
    const test = await gateway();
    const before = Date.now();
    const first = await openControlSocket(test.url);
    const second = await openControlSocket(test.url);
    cleanups.push(
      () => first.close(),
      () => second.close(),
    );
    for (const client of [first, second]) {
      expect(client.events).toHaveLength(1);
      const frame = GatewayEventFrame.parse(client.events[0]);
      expect(frame).toMatchObject({ type: 'event', event: 'connect.challenge', seq: 0 });
      const challenge = ConnectChallenge.parse(frame.payload);
      expect(Object.keys(frame.payload as object).sort()).toEqual(['nonce', 'ts']);
      expect(challenge.nonce.length).toBeGreaterThanOrEqual(16);
      expect(challenge.nonce).toBe(client.nonce);
      expect(challenge.ts).toBeGreaterThanOrEqual(before);
      expect(challenge.ts).toBeLessThanOrEqual(Date.now());
    }
    expect(first.nonce).not.toBe(second.nonce);
  });
});

describe('the connect handshake', () => {
  it('gives each connection its own connId', async () => {
    const test = await gateway();
    const a = await connectControlClient(test.url, test.token);
    const b = await connectControlClient(test.url, test.token);
    cleanups.push(
      () => a.client.close(),
      () => b.client.close(),
    );
    const connId = (hello: GatewayResponseFrame) => HelloOk.parse(payloadOf(hello)).server.connId;
    expect(connId(a.hello).length).toBeGreaterThan(0);
    expect(connId(a.hello)).not.toBe(connId(b.hello));
  });

  it('negotiates protocol 4 from any range that includes it, and refuses a range above it with 1002', async () => {
    const test = await gateway();
    const wide = await openControlSocket(test.url);
    cleanups.push(() => wide.close());
    const answer = await wide.request('connect', {
      ...connectParams(test.token),
      minProtocol: 1,
      maxProtocol: GATEWAY_PROTOCOL_VERSION + 5,
    });
    expect(HelloOk.parse(payloadOf(answer)).protocol).toBe(GATEWAY_PROTOCOL_VERSION);

    const newer = await openControlSocket(test.url);
    const refused = await newer.request('connect', {
      ...connectParams(test.token),
      minProtocol: GATEWAY_PROTOCOL_VERSION + 1,
      maxProtocol: GATEWAY_PROTOCOL_VERSION + 3,
    });
    expect(errorOf(refused)).toMatchObject({
      code: 'INVALID_REQUEST',
      details: {
        code: 'PROTOCOL_MISMATCH',
        clientMinProtocol: GATEWAY_PROTOCOL_VERSION + 1,
        expectedProtocol: GATEWAY_PROTOCOL_VERSION,
      },
    });
    expect((await newer.closed).code).toBe(1002);
  });

  it('handles frames in order: a request sent right behind connect, without waiting for hello, is served', async () => {
    const test = await gateway();
    const client = await openControlSocket(test.url);
    cleanups.push(() => client.close());
    const recorder = record(client.ws);
    const connect = { type: 'req', id: 'c1', method: 'connect', params: connectParams(test.token) };
    const health = { type: 'req', id: 'h1', method: 'health' };
    const list = { type: 'req', id: 'l1', method: 'agents.list' };
    for (const frame of [connect, health, list]) client.sendRaw(JSON.stringify(frame));
    const answers = await Promise.all([
      recorder.response('c1'),
      recorder.response('h1'),
      recorder.response('l1'),
    ]);
    expect(answers.map((answer) => answer.ok)).toEqual([true, true, true]);
    expect(recorder.responses().map((frame) => frame.id)).toEqual(['c1', 'h1', 'l1']);
    expect(isOpen(client)).toBe(true);
  });

  it('advertises every method it serves and serves every method it advertises; the old names are gone', async () => {
    const test = await gateway();
    const { client, hello } = await connectControlClient(test.url, test.token);
    cleanups.push(() => client.close());
    const { methods } = HelloOk.parse(payloadOf(hello)).features;
    expect(methods).not.toContain('connect');
    expect(methods).toEqual(
      expect.arrayContaining(['multiclaw.agents.upsert', 'multiclaw.agents.get', 'chat.history']),
    );
    // `{}` is valid params for the read-only methods and invalid for the rest: nothing changes.
    for (const method of methods) {
      const answer = await client.request(method, {});
      expect(answer.ok || detailCodeOf(answer) !== 'UNKNOWN_METHOD', method).toBe(true);
    }
    for (const old of ['agents.upsert', 'agents.get', 'sessions.history']) {
      expect(methods).not.toContain(old);
      expect(detailCodeOf(await client.request(old, {})), old).toBe('UNKNOWN_METHOD');
    }
    expect(isOpen(client)).toBe(true);
  });

  it.each([
    { label: 'invalid JSON (no id to answer)', frame: '{not json', answer: undefined },
    {
      label: 'a response frame',
      frame: JSON.stringify({ type: 'res', id: 'r1', ok: true, payload: {} }),
      answer: { id: 'r1', detail: 'INVALID_FRAME' },
    },
    {
      label: 'a request other than connect',
      frame: JSON.stringify({ type: 'req', id: 'r1', method: 'health' }),
      answer: { id: 'r1', detail: 'CONNECT_REQUIRED' },
    },
    {
      label: 'an unknown method',
      frame: JSON.stringify({ type: 'req', id: 'r1', method: 'no.such.method' }),
      answer: { id: 'r1', detail: 'CONNECT_REQUIRED' },
    },
    {
      label: 'a connect with invalid params',
      frame: (token: string) =>
        JSON.stringify({
          type: 'req',
          id: 'r1',
          method: 'connect',
          params: {
            ...connectParams(token),
            minProtocol: 0,
            client: { ...connectParams(token).client, mode: 'bogus' },
          },
        }),
      answer: { id: 'r1', detail: 'INVALID_CONNECT_PARAMS', paths: ['minProtocol', 'client.mode'] },
    },
  ])(
    'before connect, $label is answered and closes with 1008 at once: no second chance',
    async ({ frame, answer }) => {
      const test = await gateway();
      const client = await openControlSocket(test.url);
      const recorder = record(client.ws);
      client.sendRaw(typeof frame === 'string' ? frame : frame(test.token));
      // A good connect and a request right behind it: neither is served.
      client.sendRaw(
        JSON.stringify({ type: 'req', id: 'c2', method: 'connect', params: connectParams(test.token) }),
      );
      client.sendRaw(JSON.stringify({ type: 'req', id: 'h1', method: 'health' }));
      expect((await client.closed).code).toBe(1008);
      const responses = recorder.responses();
      if (!answer) {
        expect(responses).toEqual([]);
        return;
      }
      expect(responses).toHaveLength(1);
      const [refusal] = responses as [GatewayResponseFrame];
      expect(refusal.id).toBe(answer.id);
      expect(errorOf(refusal)).toMatchObject({ code: 'INVALID_REQUEST', details: { code: answer.detail } });
      if (answer.paths) {
        const issues = (errorOf(refusal).details?.issues ?? []) as { path: string }[];
        expect(issues.map((issue) => issue.path)).toEqual(expect.arrayContaining(answer.paths));
      }
    },
  );
});

describe('frame validation after connect', () => {
  type Malformed = { label: string; send: (client: ControlClient, token: string) => void; id: string };
  const raw =
    (frame: unknown): Malformed['send'] =>
    (client) =>
      client.sendRaw(JSON.stringify(frame));
  const malformed: Malformed[] = [
    { label: 'invalid JSON', send: (client) => client.sendRaw('{not json'), id: 'unknown' },
    { label: 'an empty frame', send: (client) => client.sendRaw(''), id: 'unknown' },
    {
      label: 'a binary frame (even holding a valid request)',
      send: (client) =>
        client.ws.send(Buffer.from(JSON.stringify({ type: 'req', id: 'bin-1', method: 'health' })), {
          binary: true,
        }),
      id: 'unknown',
    },
    {
      label: 'a second connect',
      send: (client, token) =>
        client.sendRaw(
          JSON.stringify({ type: 'req', id: 'again', method: 'connect', params: connectParams(token) }),
        ),
      id: 'again',
    },
    { label: 'a response frame', send: raw({ type: 'res', id: 'r1', ok: true, payload: {} }), id: 'r1' },
    { label: 'an event frame', send: raw({ type: 'event', event: 'tick', payload: {} }), id: 'unknown' },
    { label: 'a request without a method', send: raw({ type: 'req', id: 'r1' }), id: 'r1' },
    {
      label: 'a request with an empty id',
      send: raw({ type: 'req', id: '', method: 'health' }),
      id: 'unknown',
    },
    {
      label: 'a request with an over-long id',
      send: raw({ type: 'req', id: 'x'.repeat(129), method: 'health' }),
      id: 'unknown',
    },
    {
      label: 'a request with a numeric id',
      send: raw({ type: 'req', id: 1, method: 'health' }),
      id: 'unknown',
    },
    {
      label: 'a request with an unknown key',
      send: raw({ type: 'req', id: 'r1', method: 'health', extra: 1 }),
      id: 'r1',
    },
    {
      label: 'a request with an over-long method',
      send: raw({ type: 'req', id: 'r1', method: 'm'.repeat(129) }),
      id: 'r1',
    },
    { label: 'a JSON array', send: raw([{ type: 'req', id: 'r1', method: 'health' }]), id: 'unknown' },
    { label: 'a JSON string', send: raw('health'), id: 'unknown' },
    { label: 'JSON null', send: raw(null), id: 'unknown' },
  ];

  it.each(malformed)(
    'answers $label with PROTOCOL_INVALID_FRAME once, and closes with 1008 the second time',
    async ({ send, id }) => {
      const test = await gateway();
      const client = await connected(test);
      const recorder = record(client.ws);
      send(client, test.token);
      const answer = await recorder.response(id);
      expect(errorOf(answer)).toMatchObject({
        code: 'INVALID_REQUEST',
        details: { code: 'PROTOCOL_INVALID_FRAME' },
      });
      await stillServes(client);
      send(client, test.token);
      expect((await client.closed).code).toBe(1008);
    },
  );

  type Answered = {
    label: string;
    request: (client: ControlClient) => Promise<GatewayResponseFrame>;
    error: Record<string, unknown>;
  };
  const unknownMethod = (method: string): Answered => ({
    label: `an unknown method "${method}"`,
    request: (client) => client.request(method),
    error: {
      code: 'INVALID_REQUEST',
      message: `unknown method: ${method}`,
      details: { code: 'UNKNOWN_METHOD' },
    },
  });
  const answered: Answered[] = [
    ...['no.such.method', '__proto__', 'toString', 'constructor', 'hasOwnProperty'].map(unknownMethod),
    {
      label: 'an invalid agent id',
      request: (client) => client.request('multiclaw.agents.get', { agentId: 'Not An Id!' }),
      error: {
        code: 'INVALID_REQUEST',
        details: { code: 'VALIDATION_FAILED', issues: [expect.objectContaining({ path: 'agentId' })] },
      },
    },
    {
      label: 'an invalid agent, naming each wrong path',
      request: (client) =>
        client.request('multiclaw.agents.upsert', {
          agent: { id: 'ok', name: '', model: 'no-slash', extra: 1 },
        }),
      error: {
        code: 'INVALID_REQUEST',
        details: {
          code: 'VALIDATION_FAILED',
          issues: expect.arrayContaining(
            ['agent.name', 'agent.model', 'agent'].map((path) => expect.objectContaining({ path })),
          ),
        },
      },
    },
    {
      label: 'a parameter the method does not define',
      request: (client) => client.request('health', { verbose: true }),
      error: { code: 'INVALID_REQUEST', details: { code: 'VALIDATION_FAILED' } },
    },
    {
      label: 'a failed method (an application error)',
      request: (client) => client.request('multiclaw.agents.get', { agentId: 'nobody' }),
      error: { code: 'INVALID_REQUEST', details: { code: 'NOT_FOUND' } },
    },
  ];

  it.each(answered)(
    'answers $label every time without counting it as a violation',
    async ({ request, error }) => {
      const test = await gateway();
      const client = await connected(test);
      for (let i = 0; i < 3; i += 1) expect(errorOf(await request(client))).toMatchObject(error);
      expect(isOpen(client)).toBe(true);
      // Not counted: the next malformed frame is still only the first warning.
      const recorder = record(client.ws);
      client.sendRaw('{not json');
      expect(detailCodeOf(await recorder.response('unknown'))).toBe('PROTOCOL_INVALID_FRAME');
      await stillServes(client);
      client.sendRaw('{still not json');
      expect((await client.closed).code).toBe(1008);
    },
  );
});

describe('payload limits', () => {
  const small = (config: GatewayConfig) => ({
    ...config,
    gateway: { ...config.gateway, maxPayloadBytes: 16_384 },
  });

  it('announces the configured maxPayload in hello-ok', async () => {
    const test = await gateway(small);
    const { client, hello } = await connectControlClient(test.url, test.token);
    cleanups.push(() => client.close());
    expect(HelloOk.parse(payloadOf(hello)).policy.maxPayload).toBe(16_384);
  });

  it('processes a frame just under maxPayload', async () => {
    const test = await gateway(small);
    const client = await connected(test);
    const message = 'x'.repeat(15_000);
    const frame = JSON.stringify({
      type: 'req',
      id: 'big',
      method: 'chat.send',
      params: { sessionKey: 'main', agentId: 'nobody', message, idempotencyKey: randomUUID() },
    });
    expect(Buffer.byteLength(frame)).toBeLessThan(16_384);
    const recorder = record(client.ws);
    client.sendRaw(frame);
    // Parsed, validated and run: the agent does not exist.
    expect(detailCodeOf(await recorder.response('big'))).toBe('NOT_FOUND');
    await stillServes(client);
  });

  it('closes with 1009 on a frame larger than maxPayload, after connect', async () => {
    const test = await gateway(small);
    const client = await connected(test);
    client.sendRaw(
      JSON.stringify({ type: 'req', id: 'huge', method: 'health', params: { pad: 'x'.repeat(16_384) } }),
    );
    expect((await client.closed).code).toBe(1009);
  });

  it('closes with 1009 on a frame larger than maxPayload before connect', async () => {
    const test = await gateway(small);
    const client = await openControlSocket(test.url);
    client.sendRaw('x'.repeat(16_385));
    expect((await client.closed).code).toBe(1009);
  });
});

describe('methods after hello', () => {
  const PROVIDER = { api: 'openai-completions' as const, baseUrl: 'http://127.0.0.1:9/v1' };
  const readDisk = async (test: TestGateway) =>
    JSON.parse(await readFile(test.gateway.config.paths.configPath, 'utf8')) as GatewayConfig;

  it('health and status describe an empty gateway', async () => {
    const test = await gateway();
    const client = await connected(test);
    expect(payloadOf(await client.request('health'))).toMatchObject({
      ok: true,
      defaultAgentId: 'main',
      agents: [],
      sessions: { path: test.gateway.store.dir, count: 0, recent: [] },
    });
    expect(payloadOf(await client.request('health', { probe: true }))).toMatchObject({ ok: true });
    const status = payloadOf(await client.request('status'));
    expect(status).toMatchObject({
      version: GATEWAY_VERSION,
      pid: process.pid,
      agents: 0,
      providers: 0,
      sessions: 0,
    });
    expect(status.uptimeMs).toBeGreaterThanOrEqual(0);
  });

  it('multiclaw.agents.upsert needs a configured provider', async () => {
    const test = await gateway();
    const client = await connected(test);
    const agent = { id: 'helper', name: 'Helper', model: 'local/llama' };
    expect(detailCodeOf(await client.request('multiclaw.agents.upsert', { agent }))).toBe(
      'AGENT_PROVIDER_MISSING',
    );
    expect(payloadOf(await client.request('agents.list'))).toMatchObject({ agents: [] });
    expect((await readDisk(test)).agents.list).toEqual([]);
    await stillServes(client);
  });

  it('multiclaw.agents.upsert, agents.list, multiclaw.agents.get and agents.delete work end to end and persist to the config file', async () => {
    const test = await gateway((config) => ({
      ...config,
      models: {
        providers: {
          local: { ...PROVIDER, allowedAgents: ['helper', 'keeper'] },
          other: { ...PROVIDER, baseUrl: 'http://127.0.0.1:10/v1', allowedAgents: ['keeper', 'helper'] },
          unrelated: { ...PROVIDER, allowedAgents: [] },
        },
      },
    }));
    const client = await connected(test);
    const listed = async () => payloadOf(await client.request('agents.list'));
    const row = (agent: { id: string; name: string; model: string }) => ({
      id: agent.id,
      name: agent.name,
      model: { primary: agent.model },
    });

    const helper = { id: 'helper', name: 'Helper', model: 'local/llama', systemPrompt: 'Be brief.' };
    const keeper = { id: 'keeper', name: 'Keeper', model: 'other/qwen' };
    expect(payloadOf(await client.request('multiclaw.agents.upsert', { agent: helper }))).toEqual({
      agent: helper,
    });
    expect(payloadOf(await client.request('multiclaw.agents.upsert', { agent: keeper }))).toEqual({
      agent: keeper,
    });
    expect(await listed()).toMatchObject({ defaultId: 'helper', agents: [row(helper), row(keeper)] });
    // The whole local definition, system prompt included, which agents.list does not carry.
    expect(payloadOf(await client.request('multiclaw.agents.get', { agentId: 'helper' }))).toEqual({
      agent: helper,
    });
    expect((await readDisk(test)).agents.list).toEqual([helper, keeper]);

    // Upsert replaces in place.
    const renamed = { ...helper, name: 'Helper 2' };
    await client.request('multiclaw.agents.upsert', { agent: renamed });
    expect((await listed()).agents).toEqual([row(renamed), row(keeper)]);
    expect(payloadOf(await client.request('status'))).toMatchObject({ agents: 2, providers: 3 });

    expect(payloadOf(await client.request('agents.delete', { agentId: 'helper' }))).toEqual({
      ok: true,
      agentId: 'helper',
      removedBindings: 2,
    });
    expect(detailCodeOf(await client.request('multiclaw.agents.get', { agentId: 'helper' }))).toBe(
      'NOT_FOUND',
    );
    expect(detailCodeOf(await client.request('agents.delete', { agentId: 'helper' }))).toBe('NOT_FOUND');
    expect(await listed()).toMatchObject({ defaultId: 'keeper', agents: [row(keeper)] });

    const disk = await readDisk(test);
    expect(disk.agents.list).toEqual([keeper]);
    // The grants of the deleted agent are withdrawn from every provider; the others keep theirs.
    expect(disk.models.providers.local?.allowedAgents).toEqual(['keeper']);
    expect(disk.models.providers.other?.allowedAgents).toEqual(['keeper']);
    expect(disk.models.providers.unrelated?.allowedAgents).toEqual([]);
    // A new agent with the old id starts with no grant.
    await client.request('multiclaw.agents.upsert', { agent: helper });
    expect((await readDisk(test)).models.providers.local?.allowedAgents).toEqual(['keeper']);
  });

  it('agents.create and agents.update write the config file, and refuse what they cannot do', async () => {
    const test = await gateway((config) => ({
      ...config,
      models: { providers: { local: { ...PROVIDER, allowedAgents: [] } } },
    }));
    const client = await connected(test);
    const agents = async () => (await readDisk(test)).agents.list;

    expect(
      payloadOf(await client.request('agents.create', { name: 'Helper Bot', model: 'local/llama' })),
    ).toMatchObject({ ok: true, agentId: 'helper-bot', name: 'Helper Bot', model: 'local/llama' });
    expect(await agents()).toEqual([{ id: 'helper-bot', name: 'Helper Bot', model: 'local/llama' }]);

    // The same id again, no model, no usable id, an unconfigured provider: refused, nothing written.
    const refusals = [
      [{ name: 'helper bot!', model: 'local/llama' }, 'VALIDATION_FAILED'],
      [{ name: 'Other' }, 'VALIDATION_FAILED'],
      [{ name: '!!!', model: 'local/llama' }, 'VALIDATION_FAILED'],
      [{ name: 'Other', model: 'remote/llama' }, 'AGENT_PROVIDER_MISSING'],
    ] as const;
    for (const [params, code] of refusals)
      expect(detailCodeOf(await client.request('agents.create', params)), JSON.stringify(params)).toBe(code);
    expect(await agents()).toHaveLength(1);

    // agents.update changes what it is given and keeps the rest (here a system prompt).
    await client.request('multiclaw.agents.upsert', {
      agent: { id: 'helper-bot', name: 'Helper Bot', model: 'local/llama', systemPrompt: 'Be brief.' },
    });
    expect(
      payloadOf(await client.request('agents.update', { agentId: 'helper-bot', name: 'Helper' })),
    ).toEqual({ ok: true, agentId: 'helper-bot' });
    await client.request('agents.update', { agentId: 'helper-bot', model: 'local/qwen' });
    expect(await agents()).toEqual([
      { id: 'helper-bot', name: 'Helper', model: 'local/qwen', systemPrompt: 'Be brief.' },
    ]);
    expect(detailCodeOf(await client.request('agents.update', { agentId: 'nobody', name: 'X' }))).toBe(
      'NOT_FOUND',
    );
    expect(
      detailCodeOf(await client.request('agents.update', { agentId: 'helper-bot', model: 'remote/x' })),
    ).toBe('AGENT_PROVIDER_MISSING');
    expect((await agents())[0]?.model).toBe('local/qwen');
  });

  it('sessions.list, chat.history and health read the local store', async () => {
    const test = await gateway((config) => ({
      ...config,
      agents: {
        list: [
          { id: 'helper', name: 'Helper', model: 'local/llama' },
          { id: 'other', name: 'Other', model: 'local/llama' },
        ],
      },
      models: { providers: { local: { ...PROVIDER, allowedAgents: [] } } },
    }));
    const client = await connected(test);
    expect(payloadOf(await client.request('sessions.list'))).toMatchObject({
      sessions: [],
      totalCount: 0,
      hasMore: false,
    });

    const store = test.gateway.store;
    const work = await store.createSession(
      'helper',
      'First chat',
      new Date('2025-01-01T00:00:00Z'),
      'agent:helper:work',
    );
    const elsewhere = await store.createSession('other', 'Elsewhere', new Date('2025-01-02T00:00:00Z'));
    const createdAt = new Date('2025-01-01T00:00:01Z').toISOString();
    await store.appendMessages(
      work.key,
      Array.from({ length: 5 }, (_, i) => ({
        id: randomUUID(),
        role: i % 2 === 0 ? ('user' as const) : ('assistant' as const),
        content: `message ${i + 1}`,
        createdAt,
        ...(i % 2 === 1 ? { status: 'complete' as const } : {}),
      })),
    );

    type Listed = {
      sessions: { key: string; sessionId: string; agentId: string }[];
      totalCount: number;
      hasMore: boolean;
      nextOffset?: number;
    };
    const list = async (params?: object) => payloadOf<Listed>(await client.request('sessions.list', params));
    const all = await list();
    expect(all.sessions.map((session) => session.key)).toEqual([elsewhere.key, 'agent:helper:work']);
    expect(all).toMatchObject({ totalCount: 2, hasMore: false });
    const mine = await list({ agentId: 'helper' });
    expect(mine.sessions).toEqual([
      expect.objectContaining({
        key: 'agent:helper:work',
        agentId: 'helper',
        label: 'First chat',
        messageCount: 5,
        createdAt: Date.parse('2025-01-01T00:00:00Z'),
      }),
    ]);
    const sessionId = mine.sessions[0]?.sessionId;
    expect(sessionId).toEqual(expect.any(String));
    expect(await list({ limit: 1 })).toMatchObject({
      sessions: [{ key: elsewhere.key }],
      totalCount: 2,
      hasMore: true,
      nextOffset: 1,
    });
    expect(await list({ limit: 1, offset: 1 })).toMatchObject({
      sessions: [{ key: 'agent:helper:work' }],
      hasMore: false,
    });
    expect((await list({ search: 'elsewhere' })).sessions.map((session) => session.key)).toEqual([
      elsewhere.key,
    ]);

    // A bare name is the default agent's (the first configured: helper).
    type History = {
      sessionKey: string;
      sessionId?: string;
      messages: { seq: number; role: string; content: unknown }[];
      nextCursor?: string;
    };
    const history = async (params: object) =>
      payloadOf<History>(await client.request('chat.history', params));
    const page = await history({ sessionKey: 'work', limit: 2 });
    expect(page).toMatchObject({ sessionKey: 'agent:helper:work', sessionId, nextCursor: '4' });
    expect(page.messages).toMatchObject([
      { seq: 4, role: 'assistant', content: [{ type: 'text', text: 'message 4' }] },
      { seq: 5, role: 'user', content: 'message 5' },
    ]);
    const earlier = await history({ sessionKey: 'agent:helper:work', cursor: page.nextCursor });
    expect(earlier.messages.map((message) => message.seq)).toEqual([1, 2, 3]);
    expect(earlier.nextCursor).toBeUndefined();

    // A session that does not exist yet has no history; a malformed or foreign reference is refused.
    expect(await history({ sessionKey: 'agent:helper:nobody' })).toEqual({
      sessionKey: 'agent:helper:nobody',
      messages: [],
    });
    expect(
      detailCodeOf(await client.request('chat.history', { sessionKey: 'has space', agentId: 'helper' })),
    ).toBe('VALIDATION_FAILED');
    expect(
      errorOf(await client.request('chat.history', { sessionKey: 'agent:helper:work', agentId: 'other' })),
    ).toMatchObject({ details: { code: 'VALIDATION_FAILED', issues: [{ path: 'agentId' }] } });

    expect(payloadOf(await client.request('health'))).toMatchObject({
      defaultAgentId: 'helper',
      agents: [
        {
          agentId: 'helper',
          isDefault: true,
          sessions: { count: 1, recent: [{ key: 'agent:helper:work' }] },
        },
        { agentId: 'other', isDefault: false, sessions: { count: 1, recent: [{ key: elsewhere.key }] } },
      ],
      sessions: { count: 2 },
    });
    expect(payloadOf(await client.request('status'))).toMatchObject({ sessions: 2 });
  });
});

describe('ticks', () => {
  it('sends a tick every tickIntervalMs, as hello-ok announces, to connected clients only', async () => {
    const test = await gateway(undefined, { tickIntervalMs: 100 });
    const stranger = await openControlSocket(test.url);
    cleanups.push(() => stranger.close());
    const { client, hello } = await connectControlClient(test.url, test.token);
    cleanups.push(() => client.close());
    expect(HelloOk.parse(payloadOf(hello)).policy.tickIntervalMs).toBe(100);

    const ticks = () => client.events.filter((event) => event.event === 'tick');
    await client.nextEvent(() => ticks().length >= 3);
    const [first, second, third] = ticks() as [GatewayEventFrame, GatewayEventFrame, GatewayEventFrame];
    const tsOf = (tick: GatewayEventFrame) => (tick.payload as { ts: number }).ts;
    // Node schedules the next run of an interval from the time its timer list was due, not from
    // when this callback read the clock, so one gap can look short on a busy machine (86 ms was
    // seen in CI); over two intervals the ticks are at least one interval apart, and never bunched.
    expect(tsOf(third) - tsOf(first)).toBeGreaterThanOrEqual(100);
    expect(tsOf(second)).toBeGreaterThanOrEqual(tsOf(first));
    expect(tsOf(third)).toBeGreaterThanOrEqual(tsOf(second));
    expect((second.seq ?? 0) > (first.seq ?? 0)).toBe(true);
    // The socket that never connected got its challenge and nothing else.
    expect(stranger.events.map((event) => event.event)).toEqual(['connect.challenge']);
  });
});
