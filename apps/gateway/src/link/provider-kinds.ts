import type { AgentProvider } from '@multiclaw/protocol';
import { normaliseOrigin } from '../egress/egress.js';
import type { ProviderApi } from '../providers/types.js';

/**
 * What a workspace agent's provider kind means on this gateway: the wire
 * format it speaks, the provider's public API (used unless the gateway's own
 * `models.providers.<kind>` entry points elsewhere; `openai-compatible` has
 * none, it always needs that entry), and the secret name preferred when an
 * agent has several secrets granted. docs/connections.md lists the public URLs.
 */
export const PROVIDER_KINDS: Record<
  AgentProvider,
  { api: ProviderApi; publicBaseUrl?: string; secretName: string }
> = {
  openai: {
    api: 'openai-completions',
    publicBaseUrl: 'https://api.openai.com/v1',
    secretName: 'OPENAI_API_KEY',
  },
  anthropic: {
    api: 'anthropic-messages',
    publicBaseUrl: 'https://api.anthropic.com',
    secretName: 'ANTHROPIC_API_KEY',
  },
  'openai-compatible': { api: 'openai-completions', secretName: 'OPENAI_COMPATIBLE_API_KEY' },
};

export function publicProviderOrigin(kind: AgentProvider): string | undefined {
  const base = PROVIDER_KINDS[kind]?.publicBaseUrl;
  return base ? normaliseOrigin(base) : undefined;
}
