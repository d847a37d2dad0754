import { GATEWAY_EVENTS, GATEWAY_METHODS, GATEWAY_PROTOCOL_VERSION, type HelloOk } from '@multiclaw/protocol';
import type { GatewayConfig } from '../config/schema.js';
import type { Admitted } from './connect-check.js';
import { defaultAgentId, MAIN_KEY } from './session-refs.js';

/** OpenClaw's `hello-ok` for an admitted connection: what we implement, the state now, the rules. */
export function helloFor(
  admitted: Admitted,
  context: {
    config: GatewayConfig;
    health: Record<string, unknown>;
    server: { version: string; connId: string; bootId: string };
    remoteAddress: string | undefined;
    now: number;
    startedAt: number;
    policy: HelloOk['policy'];
  },
): HelloOk {
  const { client } = admitted.params;
  const defaultAgent = defaultAgentId(context.config);
  return {
    type: 'hello-ok',
    protocol: GATEWAY_PROTOCOL_VERSION,
    server: context.server,
    features: { methods: [...GATEWAY_METHODS], events: [...GATEWAY_EVENTS] },
    snapshot: {
      presence: [
        {
          ts: context.now,
          clientId: client.id,
          mode: client.mode,
          platform: client.platform,
          version: client.version,
          ...(context.remoteAddress ? { ip: context.remoteAddress } : {}),
        },
      ],
      health: context.health,
      stateVersion: { presence: 0, health: 0 },
      uptimeMs: context.now - context.startedAt,
      sessionDefaults: {
        defaultAgentId: defaultAgent,
        mainKey: MAIN_KEY,
        mainSessionKey: `agent:${defaultAgent}:${MAIN_KEY}`,
      },
      authMode: 'token',
    },
    auth: { role: admitted.role, scopes: admitted.scopes, method: 'token' },
    policy: context.policy,
  };
}
