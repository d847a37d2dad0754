import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  encodeWsMessage,
  GatewayToCloud,
  MAX_WS_FRAME_BYTES,
  SYNC_BATCH_MAX_CONTENT_BYTES,
  SYNC_BATCH_MAX_MESSAGES,
} from '@multiclaw/protocol';
import { manualClock } from '@multiclaw/test-support/clock';
import { afterEach, describe, expect, it } from 'vitest';
import { ContractCloud } from '../../test/sync/contract-cloud.js';
import { LocalStore } from '../store/local-store.js';
import type { MessageDraft } from '../store/message-log.js';
import { DEFAULT_SYNC_WINDOW, SyncService } from './sync-service.js';

const WORKSPACE = '11111111-1111-4111-8111-111111111111';
const OTHER_WORKSPACE = '22222222-2222-4222-8222-222222222222';
/** A workspace agent's id is its cloud UUID. */
const WORKSPACE_AGENT = '33333333-3333-4333-8333-333333333333';
const OTHER_WORKSPACE_AGENT = '44444444-4444-4444-8444-444444444444';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Harness {
  root: string;
  store: LocalStore;
  cloud: ContractCloud;
  sync: SyncService;
  logs: string[];
  workspaceAgents: Set<string>;
  optedIn: string[];
  /** Stops the sync and closes the store, then opens both again on the same directory (a restart). */
  restart(): Promise<Harness>;
}

async function harness(root?: string, cloud = new ContractCloud()): Promise<Harness> {
  const dir = root ?? (await mkdtemp(join(tmpdir(), 'gw-sync-')));
  if (!root) cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const store = await LocalStore.open(join(dir, 'store'), { warn: () => {} });
  const logs: string[] = [];
  const workspaceAgents = new Set([WORKSPACE_AGENT]);
  const optedIn: string[] = [];
  const sync = new SyncService({
    store,
    link: cloud,
    workspaceAgents,
    optedInAgents: async () => optedIn,
    dir: join(dir, 'store', 'sync'),
    log: { info: (message) => logs.push(message), warn: (message) => logs.push(message) },
    recheckMs: 3_600_000,
  });
  sync.start();
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await sync.stop();
    await store.close();
  };
  cleanups.push(close);
  return {
    root: dir,
    store,
    cloud,
    sync,
    logs,
    workspaceAgents,
    optedIn,
    restart: async () => {
      await close();
      return harness(dir, cloud);
    },
  };
}

const clock = manualClock('2026-11-01T00:00:00Z');
function draft(index: number, content = `message ${index}`): MessageDraft {
  clock.advanceMs(1000);
  const createdAt = clock.now().toISOString();
  return index % 2
    ? { id: randomUUID(), role: 'assistant', content, createdAt, status: 'complete' }
    : { id: randomUUID(), role: 'user', content, createdAt };
}

/** A conversation of `count` messages; answers its internal id (the conversationId that syncs). */
async function conversation(
  store: LocalStore,
  agentId: string,
  count: number,
  title = 'a chat',
): Promise<string> {
  const { key } = await store.createSession(agentId, title);
  if (count > 0)
    await store.appendMessages(
      key,
      Array.from({ length: count }, (_, index) => draft(index)),
    );
  return store.sessionIdOf(key);
}

/** What the store holds of a conversation, as the cloud should hold it. */
async function localMessages(store: LocalStore, id: string) {
  const { messageCount } = await store.getSession(id);
  const messages = await store.readMessages(id, 1, messageCount);
  return messages.map(({ id: messageId, seq, role, content, createdAt, status }) => ({
    id: messageId,
    seq,
    role,
    content,
    createdAt,
    ...(status ? { status } : {}),
  }));
}

describe('what syncs', () => {
  it('sends nothing until the gateway is linked, then every conversation with a workspace agent', async () => {
    const { store, cloud, sync } = await harness();
    const id = await conversation(store, WORKSPACE_AGENT, 5);
    await sync.poke();
    expect(cloud.batches).toEqual([]);

    cloud.online(WORKSPACE);
    await sync.poke();
    expect(cloud.messagesOf(id)).toEqual(await localMessages(store, id));
    expect(cloud.conversations.get(id)).toMatchObject({
      agentId: WORKSPACE_AGENT,
      agentSource: 'workspace',
      title: 'a chat',
    });
    expect(cloud.duplicatesReceived).toBe(0);
  });

  it("sends a local agent's conversations only once the person opts the agent in", async () => {
    const { store, cloud, sync, optedIn } = await harness();
    const mine = await conversation(store, 'main', 3);
    const other = await conversation(store, 'scratch', 3);
    const foreign = await conversation(store, OTHER_WORKSPACE_AGENT, 3);
    cloud.online(WORKSPACE);
    await sync.poke();
    expect(cloud.conversations.size).toBe(0);

    optedIn.push('main');
    await sync.poke();
    expect([...cloud.conversations.keys()]).toEqual([mine]);
    expect(cloud.conversations.get(mine)?.agentSource).toBe('local');
    // Neither a local agent left out, nor an agent of another workspace, ever went.
    const sent = cloud.batches.flatMap((batch) => batch.conversations.map((c) => c.conversationId));
    expect(sent).not.toContain(other);
    expect(sent).not.toContain(foreign);
  });

  it('keeps a reply that is still streaming local, and sends it once it has ended', async () => {
    const { store, cloud, sync } = await harness();
    const { key } = await store.createSession(WORKSPACE_AGENT, 'streaming');
    const id = store.sessionIdOf(key);
    cloud.online(WORKSPACE);
    await store.appendMessages(key, [draft(0, 'a question')]);
    const partial = await store.beginReply({
      runId: randomUUID(),
      sessionKey: key,
      messageId: randomUUID(),
      createdAt: clock.now().toISOString(),
    });
    partial.add('half an ans');
    await partial.flush();
    await sync.poke();
    expect(cloud.messagesOf(id).map((message) => message.content)).toEqual(['a question']);
    const everything = JSON.stringify(cloud.batches);
    expect(everything).not.toContain('half an ans');

    await store.finishReply(partial, {
      id: partial.start.messageId,
      role: 'assistant',
      content: 'half an answer, then the rest',
      createdAt: clock.now().toISOString(),
      status: 'aborted',
    });
    await sync.poke();
    expect(cloud.messagesOf(id).map(({ content, status }) => ({ content, status }))).toEqual([
      { content: 'a question', status: undefined },
      { content: 'half an answer, then the rest', status: 'aborted' },
    ]);
  });
});

describe('cursors and resends', () => {
  it('moves a cursor only on the ack: a batch whose ack was lost is sent again after the next online, stored once', async () => {
    const { store, cloud, sync, root } = await harness();
    const id = await conversation(store, WORKSPACE_AGENT, 4);
    cloud.loseAcks = 1;
    cloud.online(WORKSPACE);
    await sync.poke();
    // Applied in the cloud, but unacknowledged: the cursor log holds nothing.
    expect(cloud.messagesOf(id)).toHaveLength(4);
    expect(await cursorLogText(root, WORKSPACE)).toBe('');

    cloud.online(WORKSPACE);
    await sync.poke();
    expect(cloud.batches).toHaveLength(2);
    expect(cloud.batches[1]).toEqual(cloud.batches[0]);
    expect(cloud.duplicatesReceived).toBe(4);
    expect(cloud.messagesOf(id)).toEqual(await localMessages(store, id));
    expect(await cursorLogText(root, WORKSPACE)).toContain(`"ackedSeq":4`);
  });

  it('sends nothing acked again after a restart, and only what came after', async () => {
    let h = await harness();
    const id = await conversation(h.store, WORKSPACE_AGENT, 6);
    h.cloud.online(WORKSPACE);
    await h.sync.poke();
    expect(h.cloud.messagesReceived).toBe(6);

    h = await h.restart();
    await h.store.appendMessages(id, [draft(6), draft(7)]);
    await h.sync.poke();
    expect(h.cloud.messagesReceived).toBe(8);
    expect(h.cloud.batches.at(-1)?.conversations[0]?.messages.map((m) => m.seq)).toEqual([7, 8]);
    expect(h.cloud.messagesOf(id)).toEqual(await localMessages(h.store, id));
  });

  it('goes back to what the cloud says it holds when that is less than the cursor', async () => {
    const { store, cloud, sync, logs } = await harness();
    const id = await conversation(store, WORKSPACE_AGENT, 5);
    cloud.online(WORKSPACE);
    await sync.poke();
    // The cloud lost the conversation (say, restored from an older backup).
    cloud.conversations.delete(id);
    await store.appendMessages(id, [draft(5)]);
    await sync.poke();
    expect(logs.join('\n')).toMatch(
      /holds conversation .* only up to message 0, not 5; sending the rest again/,
    );
    expect(cloud.messagesOf(id)).toEqual(await localMessages(store, id));
  });
});

describe('batches in flight', () => {
  it('up to the window go before the first ack, each after the last; cursors move only as acks arrive', async () => {
    const { store, cloud, sync, root } = await harness();
    const id = await conversation(store, WORKSPACE_AGENT, SYNC_BATCH_MAX_MESSAGES * 6);
    let release = () => {};
    cloud.gate = new Promise((resolve) => {
      release = resolve;
    });
    cloud.online(WORKSPACE);
    await until(() => cloud.batches.length === DEFAULT_SYNC_WINDOW);
    // No ack yet: nothing more is sent and no cursor moved (a slow machine can only make this pass, not fail).
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(cloud.batches).toHaveLength(DEFAULT_SYNC_WINDOW);
    expect(await cursorLogText(root, WORKSPACE)).toBe('');
    expect(cloud.batches.map((batch) => batch.conversations[0]?.messages[0]?.seq)).toEqual(
      Array.from({ length: DEFAULT_SYNC_WINDOW }, (_, index) => index * SYNC_BATCH_MAX_MESSAGES + 1),
    );

    cloud.gate = undefined;
    release();
    await sync.poke();
    expect(cloud.batches).toHaveLength(6);
    expect(cloud.duplicatesReceived).toBe(0);
    expect(cloud.messagesOf(id)).toEqual(await localMessages(store, id));
    expect(await cursorLogText(root, WORKSPACE)).toContain(`"ackedSeq":${SYNC_BATCH_MAX_MESSAGES * 6}`);
  });

  it('a lost ack with batches behind it in flight: after the next online all goes again from the cursor, stored once', async () => {
    const { store, cloud, sync, root } = await harness();
    const id = await conversation(store, WORKSPACE_AGENT, SYNC_BATCH_MAX_MESSAGES * 4);
    cloud.loseAcks = 1;
    cloud.online(WORKSPACE);
    await sync.poke();
    expect(await cursorLogText(root, WORKSPACE)).toBe('');

    cloud.online(WORKSPACE);
    await sync.poke();
    expect(cloud.messagesOf(id)).toEqual(await localMessages(store, id));
    expect(cloud.duplicatesReceived).toBeGreaterThanOrEqual(SYNC_BATCH_MAX_MESSAGES);
    expect(await cursorLogText(root, WORKSPACE)).toContain(`"ackedSeq":${SYNC_BATCH_MAX_MESSAGES * 4}`);
  });
});

describe('batches', () => {
  it('stay within the message and byte limits and the frame size; an oversized message is cut with a note', async () => {
    const { store, cloud, sync } = await harness();
    const long = await conversation(store, WORKSPACE_AGENT, SYNC_BATCH_MAX_MESSAGES * 2 + 17);
    const { key } = await store.createSession(WORKSPACE_AGENT, 'big');
    const big = store.sessionIdOf(key);
    const chunk = 'é"\n'.repeat(40_000); // 3 chars → 6 wire bytes each: 240 KB per message on the wire
    await store.appendMessages(key, [
      draft(0, chunk),
      draft(1, chunk),
      draft(2, chunk),
      draft(3, 'x'.repeat(900_000)),
    ]);
    cloud.online(WORKSPACE);
    await sync.poke();

    for (const batch of cloud.batches) {
      const messages = batch.conversations.flatMap((c) => c.messages);
      expect(messages.length).toBeLessThanOrEqual(SYNC_BATCH_MAX_MESSAGES);
      const wire = messages.reduce((sum, m) => sum + Buffer.byteLength(JSON.stringify(m.content)), 0);
      expect(wire).toBeLessThanOrEqual(SYNC_BATCH_MAX_CONTENT_BYTES);
      const frame = encodeWsMessage(GatewayToCloud, 'sync.batch', batch, randomUUID());
      expect(Buffer.byteLength(frame)).toBeLessThan(MAX_WS_FRAME_BYTES);
    }
    expect(cloud.messagesOf(long)).toEqual(await localMessages(store, long));
    const held = cloud.messagesOf(big);
    expect(held.slice(0, 3).map((m) => m.content)).toEqual([chunk, chunk, chunk]);
    expect(held[3]?.content).toMatch(
      /^x+\n\n\[cut for sync: this message has 900000 characters; the whole message stays on the gateway\]$/,
    );
    expect((await store.readMessages(big, 4, 4))[0]?.content).toBe('x'.repeat(900_000));
    expect(cloud.duplicatesReceived).toBe(0);
  });

  it('a backlog catches up round-robin and a live message rides in the very next batch', async () => {
    const { store, cloud, sync } = await harness();
    const backlog = [
      await conversation(store, WORKSPACE_AGENT, 1500, 'old 1'),
      await conversation(store, WORKSPACE_AGENT, 1500, 'old 2'),
      await conversation(store, WORKSPACE_AGENT, 1500, 'old 3'),
    ];
    const { key } = await store.createSession(WORKSPACE_AGENT, 'live');
    const live = store.sessionIdOf(key);
    // Hold the first batch in flight, and write a live message meanwhile.
    let release = () => {};
    cloud.gate = new Promise((resolve) => {
      release = resolve;
    });
    cloud.online(WORKSPACE);
    // The sender fills its window of batches in flight, then waits for the first ack.
    await until(() => cloud.batches.length === DEFAULT_SYNC_WINDOW);
    await store.appendMessages(key, [draft(0, 'live now')]);
    cloud.gate = undefined;
    release();
    await sync.poke();

    // Every backlog conversation was in the first batch (each its share, then the rest).
    const first = cloud.batches[0]?.conversations.map((c) => c.conversationId);
    expect(new Set(first)).toEqual(new Set(backlog));
    // The live message went in the next batch built after it was written, first.
    expect(cloud.batches[DEFAULT_SYNC_WINDOW]?.conversations[0]?.conversationId).toBe(live);
    expect(cloud.batches.length).toBe(Math.ceil(4501 / SYNC_BATCH_MAX_MESSAGES));
    for (const id of [...backlog, live]) expect(cloud.messagesOf(id)).toEqual(await localMessages(store, id));
  });
});

describe("the cloud's answers", () => {
  it('deleted: stops syncing that conversation for good (across restarts), and keeps the local copy', async () => {
    let h = await harness();
    const gone = await conversation(h.store, WORKSPACE_AGENT, 2);
    const kept = await conversation(h.store, WORKSPACE_AGENT, 2);
    h.cloud.deleted.add(gone);
    h.cloud.online(WORKSPACE);
    await h.sync.poke();
    expect(h.logs.join('\n')).toContain(`conversation ${gone} was deleted in the workspace`);
    const sentBefore = h.cloud.messagesReceived;

    h = await h.restart();
    await h.store.appendMessages(gone, [draft(2)]);
    await h.store.appendMessages(kept, [draft(2)]);
    await h.sync.poke();
    expect(h.cloud.messagesReceived).toBe(sentBefore + 1);
    expect(h.cloud.batches.at(-1)?.conversations.map((c) => c.conversationId)).toEqual([kept]);
    expect((await h.store.getSession(gone)).messageCount).toBe(3);
  });

  it('refused: not sent again, logged once', async () => {
    const { store, cloud, sync, logs } = await harness();
    const id = await conversation(store, WORKSPACE_AGENT, 2);
    cloud.refuse.set(id, 'SYNC_AGENT_NOT_IN_WORKSPACE');
    cloud.online(WORKSPACE);
    await sync.poke();
    await store.appendMessages(id, [draft(2)]);
    await sync.poke();
    expect(cloud.batches).toHaveLength(1);
    expect(logs.filter((line) => line.includes('refused'))).toEqual([
      `sync: the workspace refused conversation ${id} (SYNC_AGENT_NOT_IN_WORKSPACE); it will not be sent again`,
    ]);
  });
});

describe('unlink and re-link', () => {
  it('unlink drops the pending outbox: an ack arriving afterwards moves nothing, and nothing more is sent', async () => {
    const { store, cloud, sync, root } = await harness();
    const id = await conversation(store, WORKSPACE_AGENT, 3);
    let release = () => {};
    cloud.gate = new Promise((resolve) => {
      release = resolve;
    });
    cloud.answerWhenDown = true;
    cloud.online(WORKSPACE);
    await until(() => cloud.batches.length === 1);
    cloud.unlink();
    release();
    await sync.poke();
    await store.appendMessages(id, [draft(3)]);
    await sync.poke();
    expect(cloud.batches).toHaveLength(1);
    expect(await cursorLogText(root, WORKSPACE)).toBe('');
    expect(sync.status()).toMatchObject({ state: 'not linked', pending: 0 });
  });

  it("re-linking to the same workspace resends nothing it acknowledged; another workspace gets none of the first one's conversations", async () => {
    const { store, cloud, sync, workspaceAgents, optedIn } = await harness();
    const shared = await conversation(store, WORKSPACE_AGENT, 4);
    cloud.online(WORKSPACE);
    await sync.poke();
    expect(cloud.messagesReceived).toBe(4);
    cloud.unlink();
    await sync.poke();

    // Another workspace: its agents replace the first one's.
    workspaceAgents.clear();
    workspaceAgents.add(OTHER_WORKSPACE_AGENT);
    const elsewhere = await conversation(store, OTHER_WORKSPACE_AGENT, 2);
    cloud.online(OTHER_WORKSPACE);
    await sync.poke();
    expect(cloud.batches.at(-1)?.conversations.map((c) => c.conversationId)).toEqual([elsewhere]);
    expect(cloud.messagesReceived).toBe(6);
    cloud.unlink();
    await sync.poke();

    // Back to the first workspace: only what it does not hold yet.
    workspaceAgents.clear();
    workspaceAgents.add(WORKSPACE_AGENT);
    await store.appendMessages(shared, [draft(4)]);
    optedIn.push('main'); // and nothing of a local agent that has no conversations
    cloud.online(WORKSPACE);
    await sync.poke();
    expect(cloud.batches.at(-1)?.conversations).toMatchObject([
      { conversationId: shared, messages: [{ seq: 5 }] },
    ]);
    expect(cloud.messagesReceived).toBe(7);
    expect(cloud.duplicatesReceived).toBe(0);
  });

  it('refuses a workspace id that is not an id before it names a file', async () => {
    const { store, cloud, sync, root, logs } = await harness();
    await conversation(store, WORKSPACE_AGENT, 1);
    cloud.online('../../escape');
    await sync.poke();
    expect(cloud.batches).toEqual([]);
    expect(logs.join('\n')).toMatch(/sync: could not follow the link's change/);
    expect(await readdir(join(root, 'store')).then((names) => names.includes('escape.log'))).toBe(false);
    expect(await readdir(root)).not.toContain('escape.log');
  });
});

async function cursorLogText(root: string, workspaceId: string): Promise<string> {
  return readFile(join(root, 'store', 'sync', `${workspaceId}.log`), 'utf8').catch(() => '');
}

/** Waits for a condition the code under test makes true by itself; the limit only stops a broken test. */
async function until(condition: () => boolean): Promise<void> {
  const giveUp = Date.now() + 20_000;
  while (!condition()) {
    if (Date.now() > giveUp) throw new Error('condition never became true');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
