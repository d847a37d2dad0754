import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ApiError } from './errors.js';
import { encodeWsMessage, MAX_WS_FRAME_BYTES, parseWsMessage, WS_PROTOCOL_VERSION } from './ws.js';

const catalog = {
  'sync.ack': z.object({ conversationId: z.uuid(), seq: z.number().int().nonnegative() }),
  'link.ping': z.object({}),
};

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof ApiError ? error.code : 'NOT_AN_API_ERROR';
  }
  return undefined;
}

describe('WebSocket envelope', () => {
  const conversationId = '6f1c1f8e-7a53-4d3c-9d7e-0a4c3f7b2a11';

  it('round-trips a catalog message', () => {
    const frame = encodeWsMessage(catalog, 'sync.ack', { conversationId, seq: 7 }, 'r1');
    expect(JSON.parse(frame)).toEqual({
      v: WS_PROTOCOL_VERSION,
      type: 'sync.ack',
      id: 'r1',
      payload: { conversationId, seq: 7 },
    });
    expect(parseWsMessage(catalog, frame)).toEqual({
      type: 'sync.ack',
      id: 'r1',
      payload: { conversationId, seq: 7 },
    });
  });

  it('refuses to encode a payload the peer would refuse', () => {
    expect(() => encodeWsMessage(catalog, 'sync.ack', { conversationId: 'nope', seq: -1 })).toThrow();
  });

  it('refuses malformed frames with a protocol error code', () => {
    const cases: Record<string, string> = {
      'not JSON': '{"v":1,',
      'not an object': '[1,2]',
      'missing type': JSON.stringify({ v: 1, payload: {} }),
      'bad type syntax': JSON.stringify({ v: 1, type: 'Sync ACK', payload: {} }),
      'unknown type': JSON.stringify({ v: 1, type: 'sync.nack', payload: {} }),
      'prototype key as type': JSON.stringify({ v: 1, type: 'constructor.x', payload: {} }),
      'bad payload': JSON.stringify({ v: 1, type: 'sync.ack', payload: { conversationId, seq: 'seven' } }),
      'oversized frame': JSON.stringify({
        v: 1,
        type: 'link.ping',
        payload: { pad: 'x'.repeat(MAX_WS_FRAME_BYTES) },
      }),
    };
    for (const [name, raw] of Object.entries(cases)) {
      expect(
        codeOf(() => parseWsMessage(catalog, raw)),
        name,
      ).toBe('PROTOCOL_INVALID_FRAME');
    }
  });

  it('refuses another protocol version with its own code', () => {
    const raw = JSON.stringify({ v: WS_PROTOCOL_VERSION + 1, type: 'link.ping', payload: {} });
    expect(codeOf(() => parseWsMessage(catalog, raw))).toBe('PROTOCOL_UNSUPPORTED_VERSION');
  });

  it('reports field paths of an invalid payload', () => {
    const raw = JSON.stringify({ v: 1, type: 'sync.ack', payload: { conversationId, seq: -3 } });
    try {
      parseWsMessage(catalog, raw);
      expect.unreachable();
    } catch (error) {
      expect((error as ApiError).details?.issues?.[0]?.path).toBe('seq');
    }
  });
});
