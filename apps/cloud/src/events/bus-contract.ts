import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import type { BusMessage, EventBus } from './event-bus.js';

/**
 * What every EventBus must do, run against each implementation by its own
 * test file. `pair` gives two buses as two cloud instances would hold them
 * (for the in-process bus, one bus twice: it has a single instance).
 */
export function busContract(pair: () => { a: EventBus; b: EventBus }) {
  it('delivers a published message to subscribers on every instance, the publishing one included', async () => {
    const { a, b } = pair();
    const message = agentsChanged();
    const onA = nextMatching(a, (m) => sameMessage(m, message));
    const onB = nextMatching(b, (m) => sameMessage(m, message));
    await a.publish(message);
    expect(await onA).toEqual(message);
    expect(await onB).toEqual(message);
  });

  it('delivers messages from one publisher in the order they were published', async () => {
    const { a, b } = pair();
    const messages = Array.from({ length: 20 }, () => agentsChanged());
    const received: BusMessage[] = [];
    const ids = new Set(messages.map(idOf));
    const done = new Promise<void>((resolve) => {
      const off = b.subscribe((m) => {
        if (!ids.has(idOf(m))) return;
        received.push(m);
        if (received.length === messages.length) {
          off();
          resolve();
        }
      });
    });
    for (const message of messages) await a.publish(message);
    await done;
    expect(received.map(idOf)).toEqual(messages.map(idOf));
  });

  it('stops delivering to a listener once it unsubscribes', async () => {
    const { a, b } = pair();
    const heard: BusMessage[] = [];
    const off = b.subscribe((m) => heard.push(m));
    off();
    const marker = agentsChanged();
    const markerSeen = nextMatching(b, (m) => sameMessage(m, marker));
    await a.publish(agentsChanged());
    await a.publish(marker);
    await markerSeen;
    expect(heard).toEqual([]);
  });

  it('keeps delivering to the other listeners when one throws', async () => {
    const { a, b } = pair();
    const off = b.subscribe(() => {
      throw new Error('a faulty listener');
    });
    const message = agentsChanged();
    const seen = nextMatching(b, (m) => sameMessage(m, message));
    await a.publish(message);
    expect(await seen).toEqual(message);
    off();
  });

  it('refuses to publish a malformed message', async () => {
    const { a } = pair();
    const malformed = { type: 'agents.changed', workspaceId: 'not-a-uuid' } as BusMessage;
    await expect(a.publish(malformed)).rejects.toThrow();
    const unknown = { type: 'everything.deleted' } as unknown as BusMessage;
    await expect(a.publish(unknown)).rejects.toThrow();
  });

  it('carries a real-time event whole', async () => {
    const { a, b } = pair();
    const message: BusMessage = {
      type: 'realtime',
      event: {
        workspaceId: randomUUID(),
        kind: 'conversation.appended',
        at: new Date().toISOString(),
        userId: randomUUID(),
        conversationId: randomUUID(),
        lastSeq: 42,
      },
    };
    const seen = nextMatching(
      b,
      (m) => m.type === 'realtime' && m.event.workspaceId === message.event.workspaceId,
    );
    await a.publish(message);
    expect(await seen).toEqual(message);
  });
}

export function agentsChanged(): BusMessage {
  return { type: 'agents.changed', workspaceId: randomUUID() };
}

function idOf(message: BusMessage): string {
  return 'workspaceId' in message ? message.workspaceId : JSON.stringify(message);
}

function sameMessage(a: BusMessage, b: BusMessage): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The next message on `bus` that `match` accepts. */
export function nextMatching(bus: EventBus, match: (message: BusMessage) => boolean): Promise<BusMessage> {
  return new Promise((resolve) => {
    const off = bus.subscribe((message) => {
      if (!match(message)) return;
      off();
      resolve(message);
    });
  });
}
