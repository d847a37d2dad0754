import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { openClawProtocol, openClawSchemaErrors } from '../../test/support/openclaw-schemas.js';

/**
 * The conformance harness checks itself first: OpenClaw's own captured
 * traffic validates against OpenClaw's schemas, and a changed frame does not.
 * (Our gateway's frames are checked against the same schemas by its own tests.)
 */
type Captured = {
  dir: 'in' | 'out';
  frame: { type: string; event?: string; method?: string; payload?: unknown; params?: unknown };
};
const captured = readFileSync(
  new URL('../../test/fixtures/openclaw-protocol-v4/device-signed-chat.jsonl', import.meta.url),
  'utf8',
)
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line) as Captured)
  // The capture also records the socket's close (code and reason), which is no frame.
  .filter(({ frame }) => typeof frame.type === 'string');

describe("OpenClaw's schemas as a conformance harness", () => {
  it('announce protocol 4', () => {
    expect(openClawProtocol.constants.PROTOCOL_VERSION).toBe(4);
  });

  it('accept every frame OpenClaw itself sent and received', () => {
    expect(captured.length).toBeGreaterThan(20);
    for (const { frame } of captured)
      expect(openClawSchemaErrors('GatewayFrameSchema', frame), JSON.stringify(frame).slice(0, 200)).toEqual(
        [],
      );
    const connect = captured.find(({ frame }) => frame.method === 'connect')?.frame.params;
    expect(openClawSchemaErrors('ConnectParamsSchema', connect)).toEqual([]);
    const chatEvents = captured
      .filter(({ frame }) => frame.event === 'chat')
      .map(({ frame }) => frame.payload);
    expect(chatEvents.length).toBeGreaterThan(0);
    for (const event of chatEvents) expect(openClawSchemaErrors('ChatEventSchema', event)).toEqual([]);
    // A fact the conformance suite builds on: OpenClaw's own gateway adds fields to its agent
    // events (`sessionKey`, `sessionId`, `agentId`, `lane`) that its exported AgentEventSchema
    // does not list. Only extra fields: with just the listed ones, each of its events conforms,
    // and those listed fields are what our gateway sends.
    const listed = Object.keys(
      (openClawProtocol.schemas.AgentEventSchema as { properties: Record<string, unknown> }).properties,
    );
    const agentEvents = captured
      .filter(({ frame }) => frame.event === 'agent')
      .map(({ frame }) => frame.payload as Record<string, unknown>);
    expect(agentEvents.map((event) => event.stream)).toEqual(
      expect.arrayContaining(['lifecycle', 'assistant']),
    );
    for (const event of agentEvents) {
      const onlyListed = Object.fromEntries(Object.entries(event).filter(([key]) => listed.includes(key)));
      expect(openClawSchemaErrors('AgentEventSchema', onlyListed), JSON.stringify(event)).toEqual([]);
    }
  });

  it('refuse what OpenClaw would refuse: an unknown connect field, a hello-ok without features', () => {
    const connect = captured.find(({ frame }) => frame.method === 'connect')?.frame.params as Record<
      string,
      unknown
    >;
    expect(openClawSchemaErrors('ConnectParamsSchema', { ...connect, nonce: 'top-level' })).not.toEqual([]);
    const helloOk = JSON.parse(
      readFileSync(
        new URL('../../test/fixtures/openclaw-protocol-v4/hello-ok.json', import.meta.url),
        'utf8',
      ),
    ) as Record<string, unknown>;
    expect(openClawSchemaErrors('HelloOkSchema', helloOk)).toEqual([]);
    expect(openClawSchemaErrors('HelloOkSchema', { ...helloOk, features: undefined })).not.toEqual([]);
  });
});
