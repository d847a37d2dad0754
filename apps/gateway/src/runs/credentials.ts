import { ApiError, type LocalAgent } from '@multiclaw/protocol';
import type { GatewayConfig, ProviderConfig } from '../config/schema.js';

export interface ResolvedAgentModel {
  agent: LocalAgent;
  providerId: string;
  provider: ProviderConfig;
  model: string;
  /** Only set when the provider's credential is granted to this agent. */
  apiKey: string | undefined;
}

export function findAgent(config: GatewayConfig, agentId: string): LocalAgent {
  const agent = config.agents.list.find((candidate) => candidate.id === agentId);
  if (!agent) throw new ApiError('NOT_FOUND', `No agent "${agentId}"`);
  return agent;
}

/**
 * The one place a run obtains a credential: the agent's own provider, and
 * its key only when the agent is on that provider's `allowedAgents`.
 */
export function resolveAgentModel(config: GatewayConfig, agentId: string): ResolvedAgentModel {
  const agent = findAgent(config, agentId);
  const slash = agent.model.indexOf('/');
  const providerId = agent.model.slice(0, slash);
  const model = agent.model.slice(slash + 1);
  const provider = Object.hasOwn(config.models.providers, providerId)
    ? config.models.providers[providerId]
    : undefined;
  if (!provider) {
    throw new ApiError(
      'AGENT_PROVIDER_MISSING',
      `Agent "${agentId}" uses provider "${providerId}", which is not configured`,
    );
  }
  if (provider.apiKey !== undefined && !provider.allowedAgents.includes(agentId)) {
    throw new ApiError(
      'AGENT_CREDENTIAL_NOT_GRANTED',
      `Agent "${agentId}" may not use the credential of provider "${providerId}" (models.providers.${providerId}.allowedAgents)`,
    );
  }
  return { agent, providerId, provider, model, apiKey: provider.apiKey };
}
