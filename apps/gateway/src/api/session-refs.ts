import {
  ApiError,
  agentIdOfSessionKey,
  SessionKey,
  type SessionSummary,
  sessionKeyOf,
} from '@multiclaw/protocol';
import type { GatewayConfig } from '../config/schema.js';
import type { LocalStore } from '../store/local-store.js';

/** The name of an agent's main session (`agent:<agentId>:main`), as in OpenClaw. */
export const MAIN_KEY = 'main';

/** The agent a bare session name belongs to: the first configured agent, else OpenClaw's `main`. */
export function defaultAgentId(config: GatewayConfig): string {
  return config.agents.list[0]?.id ?? 'main';
}

export type ResolvedSession = { key: string; agentId: string; session: SessionSummary | undefined };

/**
 * A session reference as OpenClaw's clients write it, made canonical: a full
 * key `agent:<agentId>:<name>`; an old session id (what the store knew before
 * session keys) or an exact key the store finds; or a bare name (`main`),
 * which is the default agent's. `agentId`, when the client sent one, must
 * agree with the key.
 */
export async function resolveSessionRef(
  ref: string,
  context: { agentId: string | undefined; config: GatewayConfig; store: LocalStore },
): Promise<ResolvedSession> {
  const direct = await context.store.findSession(ref);
  let key: string;
  if (direct) key = direct.key;
  else if (ref.startsWith('agent:')) key = ref;
  else key = sessionKeyOf(context.agentId ?? defaultAgentId(context.config), ref);
  const found = direct ?? (key === ref ? undefined : await context.store.findSession(key));
  const parsed = SessionKey.safeParse(key);
  if (!parsed.success)
    throw new ApiError('VALIDATION_FAILED', 'Not a session key', {
      issues: [{ path: 'sessionKey', message: '"agent:<agentId>:<name>" or a session name without spaces' }],
    });
  const agentId = agentIdOfSessionKey(key);
  if (context.agentId !== undefined && context.agentId !== agentId)
    throw new ApiError('VALIDATION_FAILED', `Session "${key}" belongs to agent "${agentId}"`, {
      issues: [{ path: 'agentId', message: `does not match the session key's agent "${agentId}"` }],
    });
  return { key, agentId, session: found };
}
