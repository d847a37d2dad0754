import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CloudToGateway, GatewayToCloud, SYNC_BATCH_MAX_MESSAGES } from './gateway-link.js';
import { RealtimeClientMessages, RealtimeServerMessages } from './realtime.js';
import { encodeWsMessage, parseWsMessage, WsEnvelope } from './ws.js';

const catalogs = { GatewayToCloud, CloudToGateway, RealtimeClientMessages, RealtimeServerMessages };

const message = (seq: number) => ({
  id: randomUUID(),
  seq,
  role: 'user' as const,
  content: `message ${seq}`,
  createdAt: new Date(1_800_000_000_000 + seq).toISOString(),
});

describe('the link and real-time catalogs', () => {
  it.each(Object.entries(catalogs))('%s names every message as the envelope allows', (_name, catalog) => {
    for (const type of Object.keys(catalog)) {
      expect(WsEnvelope.safeParse({ v: 1, type, payload: {} }).success, type).toBe(true);
    }
  });

  it('a sync batch survives encode and parse on the other end', () => {
    const batch = {
      conversations: [
        {
          conversationId: 'c1',
          agentId: 'main',
          agentSource: 'local' as const,
          messages: [message(1), message(2)],
        },
      ],
    };
    const frame = encodeWsMessage(GatewayToCloud, 'sync.batch', batch, 'b1');
    expect(parseWsMessage(GatewayToCloud, frame)).toEqual({ type: 'sync.batch', id: 'b1', payload: batch });
  });

  it('refuses a batch over the message limit, and a frame of the other direction', () => {
    const messages = Array.from({ length: SYNC_BATCH_MAX_MESSAGES + 1 }, (_, index) => message(index + 1));
    const oversized = JSON.stringify({
      v: 1,
      type: 'sync.batch',
      payload: { conversations: [{ conversationId: 'c', agentId: 'a', agentSource: 'local', messages }] },
    });
    expect(() => parseWsMessage(GatewayToCloud, oversized)).toThrow(/Invalid payload/);
    const ack = encodeWsMessage(CloudToGateway, 'sync.ack', { acks: [] });
    expect(() => parseWsMessage(GatewayToCloud, ack)).toThrow(/Unknown message type "sync.ack"/);
  });
});
