import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import {
  ConnectChallenge,
  GATEWAY_METHODS,
  GATEWAY_PROTOCOL_VERSION,
  GatewayEventFrame,
  GatewayResponseFrame,
  HelloOk,
  StoredMessage,
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

/** The same string with its last character replaced by a different one (never the same string). */
function lastCharacterChanged(value: string): string {
  return `${value.slice(0, -1)}${value.endsWith('x') ? 'y' : 'x'}`;
}

/**
 * The WebSocket control protocol end to end over real sockets: the
 * challenge, the connect handshake, frame validation with its
 * one-warning-then-close policy, payload limits and the methods.
 */

let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

async function gateway(configure?: (config: GatewayConfig) => GatewayConfig): Promise<TestGateway> {
  const test = await startTestGateway(configure ? { configure } : {});
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
    /** The next response with this id (or any response). */
    response: (id?: string) =>
      new Promise<GatewayResponseFrame>((resolve, reject) => {
        const predicate = (frame: GatewayResponseFrame) => id === undefined || frame.id === id;
        const seen = frames.find(
          (frame): frame is GatewayResponseFrame => frame.type === 'res' && predicate(frame),
        );
        if (seen && id !== undefined) return resolve(seen);
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
  it('answers a valid connect with hello-ok describing the protocol, methods, events and policy', async () => {
    const test = await gateway();
    const client = await openControlSocket(test.url);
    cleanups.push(() => client.close());
    const id = randomUUID();
    const recorder = record(client.ws);
    client.sendRaw(
      JSON.stringify({ type: 'req', id, method: 'connect', params: connectParams(test.token, client.nonce) }),
    );
    const frame = await recorder.response(id);
    expect(frame).toMatchObject({ type: 'res', id, ok: true });
    const hello = HelloOk.parse(payloadOf(frame));
    expect(hello.type).toBe('hello-ok');
    expect(hello.protocol).toBe(GATEWAY_PROTOCOL_VERSION);
    expect(hello.server.version.length).toBeGreaterThan(0);
    expect(hello.server.connId.length).toBeGreaterThan(0);
    expect(hello.features.methods).toEqual(expect.arrayContaining([...GATEWAY_METHODS]));
    expect(hello.features.methods).not.toContain('connect');
    expect(hello.features.events).toEqual(expect.arrayContaining(['connect.challenge', 'chat', 'tick']));
    expect(hello.policy.maxPayload).toBe(test.gateway.config.cached().gateway.maxPayloadBytes);
    expect(hello.policy.maxBufferedBytes).toBeGreaterThan(0);
    expect(hello.policy.tickIntervalMs).toBeGreaterThan(0);
    await stillServes(client);
  });

  it('gives each connection its own connId', async () => {
    const test = await gateway();
    const a = await connectControlClient(test.url, test.token);
    const b = await connectControlClient(test.url, test.token);
    cleanups.push(
      () => a.client.close(),
      () => b.client.close(),
    );
    const connId = (hello: GatewayResponseFrame) => HelloOk.parse(payloadOf(hello)).server.connId;
    expect(connId(a.hello)).not.toBe(connId(b.hello));
  });

  it.each([
    [
      'a wrong token',
      (test: TestGateway, nonce: string) => connectParams(lastCharacterChanged(test.token), nonce),
    ],
    [
      'a wrong nonce',
      (test: TestGateway, nonce: string) => connectParams(test.token, lastCharacterChanged(nonce)),
    ],
    ['a made-up nonce', (test: TestGateway) => connectParams(test.token, 'a'.repeat(32))],
  ])('refuses %s with UNAUTHENTICATED and closes with 1008', async (_label, params) => {
    const test = await gateway();
    const client = await openControlSocket(test.url);
    const answer = await client.request('connect', params(test, client.nonce));
    expect(errorOf(answer).code).toBe('UNAUTHENTICATED');
    expect((await client.closed).code).toBe(1008);
  });

  it('refuses the nonce of another connection (no replay of a captured connect frame)', async () => {
    const test = await gateway();
    const other = await openControlSocket(test.url);
    cleanups.push(() => other.close());
    const client = await openControlSocket(test.url);
    const answer = await client.request('connect', connectParams(test.token, other.nonce));
    expect(errorOf(answer).code).toBe('UNAUTHENTICATED');
    expect((await client.closed).code).toBe(1008);
  });

  it('refuses an unsupported protocol range with PROTOCOL_UNSUPPORTED_VERSION', async () => {
    const test = await gateway();
    for (const range of [
      { minProtocol: GATEWAY_PROTOCOL_VERSION + 1, maxProtocol: GATEWAY_PROTOCOL_VERSION + 3 },
      { minProtocol: 1, maxProtocol: Math.max(1, GATEWAY_PROTOCOL_VERSION - 1) },
    ].filter(
      (range) => range.minProtocol > GATEWAY_PROTOCOL_VERSION || range.maxProtocol < GATEWAY_PROTOCOL_VERSION,
    )) {
      const client = await openControlSocket(test.url);
      const answer = await client.request('connect', {
        ...connectParams(test.token, client.nonce),
        ...range,
      });
      const error = errorOf(answer);
      expect(error.code).toBe('PROTOCOL_UNSUPPORTED_VERSION');
      expect(error.message).toContain(String(GATEWAY_PROTOCOL_VERSION));
      expect((await client.closed).code).toBe(1008);
    }
  });

  it('accepts a range that includes this protocol', async () => {
    const test = await gateway();
    const client = await openControlSocket(test.url);
    cleanups.push(() => client.close());
    const answer = await client.request('connect', {
      ...connectParams(test.token, client.nonce),
      minProtocol: 1,
      maxProtocol: GATEWAY_PROTOCOL_VERSION + 5,
    });
    expect(HelloOk.parse(payloadOf(answer)).protocol).toBe(GATEWAY_PROTOCOL_VERSION);
  });

  it('closes when the first frame is not connect, and runs nothing', async () => {
    const test = await gateway();
    for (const method of ['health', 'agents.list', 'no.such.method']) {
      const client = await openControlSocket(test.url);
      const answer = await client.request(method);
      expect(errorOf(answer).code).toBe('UNAUTHENTICATED');
      expect(answer.ok).toBe(false);
      expect((await client.closed).code).toBe(1008);
    }
  });

  it('refuses invalid connect params with VALIDATION_FAILED naming the paths, and closes on the second violation', async () => {
    const test = await gateway();
    const client = await openControlSocket(test.url);
    const { auth: _auth, ...withoutAuth } = connectParams(test.token, client.nonce);
    const first = errorOf(await client.request('connect', { ...withoutAuth, minProtocol: 0 }));
    expect(first.code).toBe('VALIDATION_FAILED');
    const paths = ((first.details?.issues ?? []) as { path: string }[]).map((issue) => issue.path);
    expect(paths).toEqual(expect.arrayContaining(['auth', 'minProtocol']));
    expect(isOpen(client)).toBe(true);
    const second = errorOf(
      await client.request('connect', { ...connectParams(test.token, client.nonce), extra: true }),
    );
    expect(second.code).toBe('VALIDATION_FAILED');
    expect((await client.closed).code).toBe(1008);
  });

  it('handles frames in order: a request sent right behind connect, without waiting for hello, is served', async () => {
    const test = await gateway();
    const client = await openControlSocket(test.url);
    cleanups.push(() => client.close());
    const recorder = record(client.ws);
    const connect = {
      type: 'req',
      id: 'c1',
      method: 'connect',
      params: connectParams(test.token, client.nonce),
    };
    const health = { type: 'req', id: 'h1', method: 'health' };
    const list = { type: 'req', id: 'l1', method: 'agents.list' };
    for (const frame of [connect, health, list]) client.sendRaw(JSON.stringify(frame));
    const answers = await Promise.all([
      recorder.response('c1'),
      recorder.response('h1'),
      recorder.response('l1'),
    ]);
    expect(answers.map((answer) => answer.ok)).toEqual([true, true, true]);
    expect(
      recorder.frames.filter((frame) => frame.type === 'res').map((frame) => (frame as { id: string }).id),
    ).toEqual(['c1', 'h1', 'l1']);
    expect(isOpen(client)).toBe(true);
  });

  it('does not serve a request pipelined behind a refused connect', async () => {
    const test = await gateway();
    const client = await openControlSocket(test.url);
    const recorder = record(client.ws);
    const wrong = connectParams(lastCharacterChanged(test.token), client.nonce);
    client.sendRaw(JSON.stringify({ type: 'req', id: 'c1', method: 'connect', params: wrong }));
    client.sendRaw(
      JSON.stringify({
        type: 'req',
        id: 'c2',
        method: 'connect',
        params: connectParams(test.token, client.nonce),
      }),
    );
    client.sendRaw(JSON.stringify({ type: 'req', id: 'h1', method: 'health' }));
    expect(errorOf(await recorder.response('c1')).code).toBe('UNAUTHENTICATED');
    expect((await client.closed).code).toBe(1008);
    expect(recorder.frames.filter((frame) => frame.type === 'res' && frame.ok)).toEqual([]);
  });

  it('lets a client that made one mistake still connect', async () => {
    const test = await gateway();
    const client = await openControlSocket(test.url);
    cleanups.push(() => client.close());
    expect(errorOf(await client.request('connect', {})).code).toBe('VALIDATION_FAILED');
    HelloOk.parse(payloadOf(await client.request('connect', connectParams(test.token, client.nonce))));
    await stillServes(client);
  });
});

describe('frame validation', () => {
  it('answers invalid JSON once with an error and stays open; a second time closes with 1008', async () => {
    const test = await gateway();
    const client = await connected(test);
    const recorder = record(client.ws);
    client.sendRaw('{not json');
    const first = await recorder.response('unknown');
    expect(errorOf(first).code).toBe('PROTOCOL_INVALID_FRAME');
    await stillServes(client);
    client.sendRaw('still not json');
    expect(errorOf(await recorder.response('unknown')).code).toBe('PROTOCOL_INVALID_FRAME');
    expect((await client.closed).code).toBe(1008);
  });

  it('counts invalid JSON before connect as well', async () => {
    const test = await gateway();
    const client = await openControlSocket(test.url);
    const recorder = record(client.ws);
    client.sendRaw('][');
    expect(errorOf(await recorder.response()).code).toBe('PROTOCOL_INVALID_FRAME');
    expect(isOpen(client)).toBe(true);
    client.sendRaw('');
    expect(errorOf(await recorder.response()).code).toBe('PROTOCOL_INVALID_FRAME');
    expect((await client.closed).code).toBe(1008);
  });

  it.each([
    ['a response frame', { type: 'res', id: 'r1', ok: true, payload: {} }],
    ['an event frame', { type: 'event', event: 'tick', payload: {} }],
    ['a request without a method', { type: 'req', id: 'r1' }],
    ['a request with an empty id', { type: 'req', id: '', method: 'health' }],
    ['a request with an over-long id', { type: 'req', id: 'x'.repeat(129), method: 'health' }],
    ['a request with a numeric id', { type: 'req', id: 1, method: 'health' }],
    ['a request with an unknown key', { type: 'req', id: 'r1', method: 'health', extra: 1 }],
    ['a request with an over-long method', { type: 'req', id: 'r1', method: 'm'.repeat(65) }],
    ['a JSON array', [{ type: 'req', id: 'r1', method: 'health' }]],
    ['a JSON string', 'health'],
    ['JSON null', null],
  ])('refuses %s with PROTOCOL_INVALID_FRAME as a violation', async (_label, frame) => {
    const test = await gateway();
    const client = await connected(test);
    const recorder = record(client.ws);
    client.sendRaw(JSON.stringify(frame));
    const answer = await recorder.response();
    expect(errorOf(answer).code).toBe('PROTOCOL_INVALID_FRAME');
    const echoed = (frame as { id?: unknown } | null)?.id;
    expect(answer.id).toBe(
      typeof echoed === 'string' && echoed.length > 0 && echoed.length <= 128 ? echoed : 'unknown',
    );
    await stillServes(client);
    client.sendRaw(JSON.stringify(frame));
    expect((await client.closed).code).toBe(1008);
  });

  it('refuses invalid method params with VALIDATION_FAILED and the issue paths, counted as a violation', async () => {
    const test = await gateway();
    const client = await connected(test);
    const first = errorOf(await client.request('agents.get', { agentId: 'Not An Id!' }));
    expect(first.code).toBe('VALIDATION_FAILED');
    expect(first.details?.issues).toEqual([expect.objectContaining({ path: 'agentId' })]);
    await stillServes(client);
    const second = errorOf(
      await client.request('agents.upsert', { agent: { id: 'ok', name: '', model: 'no-slash', extra: 1 } }),
    );
    expect(second.code).toBe('VALIDATION_FAILED');
    const paths = ((second.details?.issues ?? []) as { path: string }[]).map((issue) => issue.path);
    expect(paths).toEqual(expect.arrayContaining(['agent.name', 'agent.model', 'agent']));
    expect((await client.closed).code).toBe(1008);
  });

  it('refuses params on a method that takes none', async () => {
    const test = await gateway();
    const client = await connected(test);
    expect(errorOf(await client.request('health', { verbose: true })).code).toBe('VALIDATION_FAILED');
    await stillServes(client);
  });

  it('refuses an unknown method, counted as a violation', async () => {
    const test = await gateway();
    const client = await connected(test);
    for (const method of ['no.such.method', '__proto__', 'toString', 'constructor']) {
      const reconnect = method === 'no.such.method' ? client : await connected(test);
      const error = errorOf(await reconnect.request(method));
      expect(error.code, method).toBe('PROTOCOL_INVALID_FRAME');
      expect(error.message, method).toContain('Unknown method');
      expect(isOpen(reconnect), method).toBe(true);
    }
    await stillServes(client);
    errorOf(await client.request('agents.explode'));
    expect((await client.closed).code).toBe(1008);
  });

  it('refuses a binary frame, counted as a violation', async () => {
    const test = await gateway();
    const client = await connected(test);
    const recorder = record(client.ws);
    const valid = JSON.stringify({ type: 'req', id: 'bin-1', method: 'health' });
    client.ws.send(Buffer.from(valid), { binary: true });
    const answer = await recorder.response();
    expect(errorOf(answer).code).toBe('PROTOCOL_INVALID_FRAME');
    expect(errorOf(answer).message).toContain('Binary');
    await stillServes(client);
    client.ws.send(Buffer.from(valid), { binary: true });
    expect((await client.closed).code).toBe(1008);
  });

  it('treats a second connect after hello as a violation', async () => {
    const test = await gateway();
    const client = await connected(test);
    const again = errorOf(await client.request('connect', connectParams(test.token, client.nonce)));
    expect(again.code).toBe('PROTOCOL_INVALID_FRAME');
    await stillServes(client);
    errorOf(await client.request('connect', connectParams(test.token, client.nonce)));
    expect((await client.closed).code).toBe(1008);
  });

  it('does not count a failed method (an application error) as a violation', async () => {
    const test = await gateway();
    const client = await connected(test);
    for (let i = 0; i < 3; i += 1) {
      expect(errorOf(await client.request('agents.get', { agentId: 'nobody' })).code).toBe('NOT_FOUND');
    }
    await stillServes(client);
  });
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
      params: { agentId: 'nobody', message, idempotencyKey: randomUUID() },
    });
    expect(Buffer.byteLength(frame)).toBeLessThan(16_384);
    const recorder = record(client.ws);
    client.sendRaw(frame);
    // Parsed, validated and run: the agent does not exist.
    expect(errorOf(await recorder.response('big')).code).toBe('NOT_FOUND');
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

  it('health reports the gateway', async () => {
    const test = await gateway();
    const client = await connected(test);
    expect(payloadOf(await client.request('health'))).toMatchObject({ ok: true, agents: 0, providers: 0 });
    expect(payloadOf(await client.request('health', {}))).toMatchObject({ ok: true });
  });

  it('agents.upsert needs a configured provider', async () => {
    const test = await gateway();
    const client = await connected(test);
    const agent = { id: 'helper', name: 'Helper', model: 'local/llama' };
    expect(errorOf(await client.request('agents.upsert', { agent })).code).toBe('AGENT_PROVIDER_MISSING');
    expect(payloadOf(await client.request('agents.list'))).toEqual({ agents: [] });
    const onDisk = JSON.parse(await readFile(test.gateway.config.paths.configPath, 'utf8')) as GatewayConfig;
    expect(onDisk.agents.list).toEqual([]);
    await stillServes(client);
  });

  it('agents.upsert, list, get and delete work end to end and persist to the config file', async () => {
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
    const readDisk = async () =>
      JSON.parse(await readFile(test.gateway.config.paths.configPath, 'utf8')) as GatewayConfig;

    const helper = { id: 'helper', name: 'Helper', model: 'local/llama', systemPrompt: 'Be brief.' };
    const keeper = { id: 'keeper', name: 'Keeper', model: 'other/qwen' };
    expect(payloadOf(await client.request('agents.upsert', { agent: helper }))).toEqual({ agent: helper });
    expect(payloadOf(await client.request('agents.upsert', { agent: keeper }))).toEqual({ agent: keeper });
    expect(payloadOf(await client.request('agents.list'))).toEqual({ agents: [helper, keeper] });
    expect(payloadOf(await client.request('agents.get', { agentId: 'keeper' }))).toEqual({ agent: keeper });
    expect((await readDisk()).agents.list).toEqual([helper, keeper]);

    // Upsert replaces in place.
    const renamed = { ...helper, name: 'Helper 2' };
    await client.request('agents.upsert', { agent: renamed });
    expect(payloadOf(await client.request('agents.list'))).toEqual({ agents: [renamed, keeper] });
    expect(payloadOf(await client.request('health'))).toMatchObject({ agents: 2, providers: 3 });

    expect(payloadOf(await client.request('agents.delete', { agentId: 'helper' }))).toEqual({
      deleted: true,
    });
    expect(errorOf(await client.request('agents.get', { agentId: 'helper' })).code).toBe('NOT_FOUND');
    expect(errorOf(await client.request('agents.delete', { agentId: 'helper' })).code).toBe('NOT_FOUND');
    expect(payloadOf(await client.request('agents.list'))).toEqual({ agents: [keeper] });

    const disk = await readDisk();
    expect(disk.agents.list).toEqual([keeper]);
    // The grants of the deleted agent are withdrawn from every provider; the others keep theirs.
    expect(disk.models.providers.local?.allowedAgents).toEqual(['keeper']);
    expect(disk.models.providers.other?.allowedAgents).toEqual(['keeper']);
    expect(disk.models.providers.unrelated?.allowedAgents).toEqual([]);
    // A new agent with the old id starts with no grant.
    await client.request('agents.upsert', { agent: helper });
    expect((await readDisk()).models.providers.local?.allowedAgents).toEqual(['keeper']);
  });

  it('sessions.list and sessions.history read the local store', async () => {
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
    expect(payloadOf(await client.request('sessions.list'))).toMatchObject({ sessions: [] });

    const store = test.gateway.store;
    const session = await store.createSession('helper', 'First chat', new Date('2025-01-01T00:00:00Z'));
    await store.createSession('other', 'Elsewhere', new Date('2025-01-02T00:00:00Z'));
    const createdAt = new Date('2025-01-01T00:00:01Z').toISOString();
    await store.appendMessages(
      session.key,
      Array.from({ length: 5 }, (_, i) => ({
        id: randomUUID(),
        role: i % 2 === 0 ? ('user' as const) : ('assistant' as const),
        content: `message ${i + 1}`,
        createdAt,
        ...(i % 2 === 1 ? { status: 'complete' as const } : {}),
      })),
    );

    const all = payloadOf<{ sessions: { key: string; agentId: string }[] }>(
      await client.request('sessions.list'),
    );
    expect(all.sessions.map((summary) => summary.agentId)).toEqual(['other', 'helper']);
    const mine = payloadOf<{ sessions: { key: string; messageCount: number; title: string }[] }>(
      await client.request('sessions.list', { agentId: 'helper' }),
    );
    expect(mine.sessions).toEqual([
      expect.objectContaining({ key: session.key, messageCount: 5, title: 'First chat' }),
    ]);

    const page = payloadOf<{ messages: unknown[]; nextBefore?: number }>(
      await client.request('sessions.history', { sessionKey: session.key, limit: 2 }),
    );
    const messages = page.messages.map((message) => StoredMessage.parse(message));
    expect(messages.map((message) => message.seq)).toEqual([4, 5]);
    expect(messages.map((message) => message.content)).toEqual(['message 4', 'message 5']);
    expect(page.nextBefore).toBe(4);
    const earlier = payloadOf<{ messages: { seq: number }[]; nextBefore?: number }>(
      await client.request('sessions.history', { sessionKey: session.key, before: 4 }),
    );
    expect(earlier.messages.map((message) => message.seq)).toEqual([1, 2, 3]);
    expect(earlier.nextBefore).toBeUndefined();

    expect(errorOf(await client.request('sessions.history', { sessionKey: randomUUID() })).code).toBe(
      'NOT_FOUND',
    );
    expect(errorOf(await client.request('sessions.history', { sessionKey: 'not-a-uuid' })).code).toBe(
      'VALIDATION_FAILED',
    );
  });
});
