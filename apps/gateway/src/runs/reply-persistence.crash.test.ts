import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChatSendResult } from '@multiclaw/protocol';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayChild, prepareStateDir, startGatewayChild } from '../../test/crash/gateway-child.js';
import { allLanes, delay } from '../../test/crash/harness.js';
import { type FakeProvider, startFakeOpenAI, streamReply } from '../../test/fake-providers/index.js';
import { connectControlClient, type PlainMessage, plainHistory } from '../../test/support/ws-client.js';

/**
 * A real gateway process, SIGKILLed while a reply streams from a slow provider
 * (WebSocket `chat.send` and OpenAI-compatible streaming), restarted on the same
 * state directory: the reply is kept up to what had reached the disk, marked
 * `interrupted`, and the idempotency key says so; SIGTERM stores the whole partial.
 */
const CHUNKS = Array.from({ length: 60 }, (_, index) => `w${index} `);
const FULL = CHUNKS.join('');
const CHUNK_DELAY_MS = 50;
/**
 * Text the client had this long before the kill must have been kept. The gateway flushes a
 * batch at most 200 ms after its first delta; the rest is room for fsync on a loaded machine.
 */
const DURABLE_AFTER_MS = 1200;

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'gw-reply-crash-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** What the client had received, and when: the kill point is judged against it. */
class Received {
  readonly snapshots: { at: number; text: string }[] = [];
  text = '';
  private waiters: { count: number; resolve: () => void }[] = [];

  add(delta: string): void {
    this.text += delta;
    this.snapshots.push({ at: performance.now(), text: this.text });
    for (const waiter of [...this.waiters]) {
      if (this.snapshots.length >= waiter.count) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  }

  /** Resolves once `count` deltas arrived (at once for 0). */
  deltas(count: number): Promise<void> {
    if (this.snapshots.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }

  /** The text received at least `ms` before now. */
  before(ms: number): string {
    const cutoff = performance.now() - ms;
    return this.snapshots.findLast((snapshot) => snapshot.at <= cutoff)?.text ?? '';
  }
}

interface Killed {
  /** The session the WebSocket lane sent in (the OpenAI lane's are new per request). */
  sessionKey?: string;
  key: string;
  message: string;
  /** Received at least DURABLE_AFTER_MS before the kill: must be in the stored reply. */
  durable: string;
  received: string;
}

async function control(gateway: GatewayChild, token: string) {
  const { client } = await connectControlClient(gateway.url, token);
  return client;
}

/** The parts of OpenClaw's `chat` event the lanes read. */
type ChatEvent = { runId: string; state: string; deltaText?: string };

/** The interrupted reply after a restart: a prefix of the provider's text, holding what was durable. */
function expectInterrupted(messages: PlainMessage[], killed: Killed): PlainMessage {
  expect(messages.map((message) => [message.role, message.status])).toEqual([
    ['user', undefined],
    ['assistant', 'interrupted'],
  ]);
  const [user, reply] = messages as [PlainMessage, PlainMessage];
  expect(user.content).toBe(killed.message);
  expect(FULL.startsWith(reply.content), reply.content).toBe(true);
  expect(reply.content.startsWith(killed.durable), `${reply.content} / ${killed.durable}`).toBe(true);
  return reply;
}

async function killMidReply(
  gateway: GatewayChild,
  received: Received,
): Promise<Pick<Killed, 'durable' | 'received'>> {
  // At least a few batch delays in, so most kills find text on disk; never after the last chunk.
  await received.deltas(8 + Math.floor(Math.random() * (CHUNKS.length - 13)));
  await delay(Math.random() * CHUNK_DELAY_MS);
  const durable = received.before(DURABLE_AFTER_MS);
  const snapshot = received.text;
  await gateway.child.kill();
  expect(await gateway.child.exited).toEqual({ code: null, signal: 'SIGKILL' });
  return { durable, received: snapshot };
}

async function startProvider(): Promise<FakeProvider> {
  return startFakeOpenAI(streamReply(CHUNKS, { chunkDelayMs: CHUNK_DELAY_MS }));
}

async function wsLane(kills: number) {
  const provider = await startProvider();
  try {
    const { stateDir, token } = await prepareStateDir(root, provider.baseUrl);
    let previous: Killed | undefined;
    let kept = 0;
    let durableChecks = 0;
    for (let round = 0; round <= kills; round++) {
      const gateway = await startGatewayChild(stateDir);
      const client = await control(gateway, token);
      if (previous?.sessionKey) {
        const reply = expectInterrupted(await plainHistory(client, previous.sessionKey), previous);
        kept += reply.content.length ? 1 : 0;
        durableChecks += previous.durable ? 1 : 0;
        // The same key, after the restart, reports exactly what happened.
        const again = await client.request('chat.send', {
          agentId: 'writer',
          sessionKey: previous.sessionKey,
          message: previous.message,
          idempotencyKey: previous.key,
        });
        expect(again.ok && (again.payload as ChatSendResult).status).toBe('interrupted');
      }
      if (round === kills) {
        await finishWsLane(client, gateway, previous as Killed);
        break;
      }
      const message = `question ${round}`;
      const key = `ws-${round}-${randomUUID()}`;
      const received = new Received();
      client.ws.on('message', (data) => {
        const frame = JSON.parse(data.toString()) as { event?: string; payload?: ChatEvent };
        if (frame.event === 'chat' && frame.payload?.state === 'delta')
          received.add(frame.payload.deltaText ?? '');
      });
      const sent = await client.request('chat.send', {
        agentId: 'writer',
        sessionKey: `ws-${round}`,
        message,
        idempotencyKey: key,
      });
      if (!sent.ok) throw new Error(sent.error.message);
      const { sessionKey } = sent.payload as ChatSendResult;
      expect(sessionKey).toBe(`agent:writer:ws-${round}`);
      previous = { sessionKey, key, message, ...(await killMidReply(gateway, received)) };
      client.close();
    }
    return { kept, durableChecks };
  } finally {
    await provider.close();
  }
}

/** A retry with the interrupted key runs the reply again, in the same session, without repeating the question. */
async function finishWsLane(
  client: Awaited<ReturnType<typeof control>>,
  gateway: GatewayChild,
  last: Killed,
) {
  const retried = await client.request('chat.send', {
    agentId: 'writer',
    sessionKey: last.sessionKey,
    message: last.message,
    idempotencyKey: last.key,
  });
  const result = retried.ok ? (retried.payload as ChatSendResult) : undefined;
  expect(result).toMatchObject({ status: 'started', sessionKey: last.sessionKey });
  await client.nextEvent(
    (event) =>
      event.event === 'chat' &&
      (event.payload as ChatEvent).runId === result?.runId &&
      (event.payload as ChatEvent).state === 'final',
    30_000,
  );
  const messages = await plainHistory(client, last.sessionKey as string);
  expect(messages.map((message) => [message.role, message.status])).toEqual([
    ['user', undefined],
    ['assistant', 'interrupted'],
    ['assistant', 'complete'],
  ]);
  expect(messages[2]?.content).toBe(FULL);
  client.close();
  gateway.child.process.kill('SIGTERM');
  expect(await gateway.child.exited).toEqual({ code: 0, signal: null });
}

async function openAILane(kills: number) {
  const provider = await startProvider();
  try {
    const { stateDir, token } = await prepareStateDir(root, provider.baseUrl);
    let previous: Killed | undefined;
    let kept = 0;
    let durableChecks = 0;
    for (let round = 0; round <= kills; round++) {
      const gateway = await startGatewayChild(stateDir);
      const client = await control(gateway, token);
      const sessions = await client.request('sessions.list', { agentId: 'writer' });
      const listed = sessions.ok ? (sessions.payload as { sessions: { key: string }[] }).sessions : [];
      // One session per request, as the OpenAI API is stateless.
      expect(listed).toHaveLength(round);
      for (const session of listed) expect(session.key).toMatch(/^agent:writer:openai:[0-9a-f-]{36}$/);
      if (previous) {
        const reply = expectInterrupted(await plainHistory(client, listed[0]?.key as string), previous);
        kept += reply.content.length ? 1 : 0;
        durableChecks += previous.durable ? 1 : 0;
      }
      const openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: token, maxRetries: 0 });
      if (round === kills) {
        await finishOpenAILane(openai, { gateway, stateDir, token }, provider, previous as Killed);
        client.close();
        break;
      }
      client.close();
      const message = `question ${round}`;
      const key = `openai-${round}-${randomUUID()}`;
      const received = new Received();
      const stream = await openai.chat.completions.create(
        { model: 'writer', messages: [{ role: 'user', content: message }], stream: true },
        { headers: { 'Idempotency-Key': key } },
      );
      const reading = (async () => {
        for await (const chunk of stream) received.add(chunk.choices[0]?.delta.content ?? '');
      })().catch(() => {}); // the kill cuts the stream
      previous = { key, message, ...(await killMidReply(gateway, received)) };
      await reading;
    }
    return { kept, durableChecks };
  } finally {
    await provider.close();
  }
}

/**
 * The interrupted Idempotency-Key runs again (one more provider call, same session), then
 * is answered from the store (no call); SIGTERM mid-stream stores everything that streamed.
 */
async function finishOpenAILane(
  openai: OpenAI,
  { gateway, stateDir, token }: { gateway: GatewayChild; stateDir: string; token: string },
  provider: FakeProvider,
  last: Killed,
) {
  const callsBefore = provider.requests.length;
  const request = { model: 'writer', messages: [{ role: 'user' as const, content: last.message }] };
  const retried = await openai.chat.completions.create(request, { headers: { 'Idempotency-Key': last.key } });
  expect(retried.choices[0]?.message.content).toBe(FULL);
  const replayed = await openai.chat.completions.create(request, {
    headers: { 'Idempotency-Key': last.key },
  });
  expect(replayed.choices[0]?.message.content).toBe(FULL);
  expect(provider.requests.length).toBe(callsBefore + 1);

  const received = new Received();
  const stream = await openai.chat.completions.create({
    model: 'writer',
    messages: [{ role: 'user', content: 'stopped politely' }],
    stream: true,
  });
  const reading = (async () => {
    for await (const chunk of stream) received.add(chunk.choices[0]?.delta.content ?? '');
  })().catch(() => {});
  await received.deltas(5);
  gateway.child.process.kill('SIGTERM');
  expect(await gateway.child.exited).toEqual({ code: 0, signal: null });
  await reading;

  const restarted = await startGatewayChild(stateDir);
  try {
    const client = await control(restarted, token);
    const sessions = await client.request('sessions.list', { agentId: 'writer' });
    const newest = sessions.ok
      ? (sessions.payload as { sessions: { key: string }[] }).sessions[0]
      : undefined;
    const messages = await plainHistory(client, newest?.key as string);
    expect(messages.map((message) => [message.role, message.content, message.status])).toEqual([
      ['user', 'stopped politely', undefined],
      ['assistant', expect.any(String), 'interrupted'],
    ]);
    // Drained, not killed: everything the client saw is stored (and nothing the provider did not send).
    expect(messages[1]?.content.startsWith(received.text)).toBe(true);
    expect(FULL.startsWith(messages[1]?.content as string)).toBe(true);
    client.close();
  } finally {
    await restarted.child.kill();
  }
}

describe('streamed replies under SIGKILL and SIGTERM of a real gateway process', () => {
  it('keeps what streamed, marks it interrupted, and lets the idempotency key say so', async () => {
    const started = performance.now();
    const [ws, openai] = await allLanes([wsLane(5), openAILane(5)]);
    console.log(
      `replies: 10 kills in ${Math.round(performance.now() - started)} ms; ` +
        `non-empty interrupted replies kept: ws ${ws?.kept}/5, openai ${openai?.kept}/5; ` +
        `kills with text received over ${DURABLE_AFTER_MS} ms before them: ${(ws?.durableChecks ?? 0) + (openai?.durableChecks ?? 0)}`,
    );
    // Not hollow: most kills landed after some text had reached the disk, and some late
    // enough that keeping less than the client had received long before would have failed.
    expect((ws?.kept ?? 0) + (openai?.kept ?? 0)).toBeGreaterThanOrEqual(5);
    expect((ws?.durableChecks ?? 0) + (openai?.durableChecks ?? 0)).toBeGreaterThanOrEqual(2);
  }, 180_000); // ~40 s on an idle machine; the budget only covers a loaded one.
});
