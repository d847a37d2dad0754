import { type Agent, ApiError, Id, type LocalAgent } from '@multiclaw/protocol';
import type { GatewayConfig, ProviderConfig } from '../config/schema.js';
import { PROVIDER_KINDS } from '../link/provider-kinds.js';
import type { WorkspaceAgents } from '../link/workspace-agents.js';
import type { Sampling } from '../providers/types.js';

export interface ResolvedAgentModel {
  agent: LocalAgent;
  providerId: string;
  provider: ProviderConfig;
  model: string;
  /** Only set when the provider's credential is granted to this agent. */
  apiKey: string | undefined;
  /** A local agent (openclaw.json) or a workspace agent (held from the cloud link, read-only here). */
  source: 'local' | 'workspace';
  /** A workspace agent's own temperature / top_p, used where the request sets none. */
  sampling?: Sampling;
}

/** The request's sampling, each setting it leaves out taken from the agent's defaults. */
export function withAgentDefaults(
  defaults: Sampling | undefined,
  request: Sampling | undefined,
): Sampling | undefined {
  if (!defaults) return request;
  const set = Object.fromEntries(Object.entries(request ?? {}).filter(([, value]) => value !== undefined));
  return { ...defaults, ...set };
}

/** A local agent, else (given the link's holder) a workspace agent as the local shape; NOT_FOUND or the workspace refusal otherwise. */
export function findAgent(config: GatewayConfig, agentId: string, workspace?: WorkspaceAgents): LocalAgent {
  const agent = config.agents.list.find((candidate) => candidate.id === agentId);
  if (agent) return agent;
  const held = workspace?.get(agentId);
  if (held) return asLocalAgent(held);
  if (workspace && isWorkspaceAgentId(workspace, agentId))
    throw workspaceAgentUnavailable(workspace, agentId);
  throw new ApiError('NOT_FOUND', `No agent "${agentId}"`);
}

/** Refuses a local edit of a workspace agent: it is the workspace's, changed in the cloud. */
export function refuseWorkspaceAgentEdit(
  config: GatewayConfig,
  agentId: string,
  workspace?: WorkspaceAgents,
): void {
  if (config.agents.list.some((agent) => agent.id === agentId)) return;
  if (workspace?.get(agentId) || (workspace && isWorkspaceAgentId(workspace, agentId))) {
    throw new ApiError(
      'FORBIDDEN',
      `Agent "${agentId}" is a workspace agent: it is read-only on this gateway; change it in the workspace (MultiClaw Cloud)`,
    );
  }
}

/**
 * The one place a run obtains a credential. A local agent: its own provider,
 * and its key only when the agent is on that provider's `allowedAgents`. A
 * workspace agent: the wire format of its provider kind, the base URL of this
 * gateway's `models.providers` entry of the same id (else the provider's
 * public API), and a vault secret granted to it, held in memory from the link
 * (never a local provider's key: local credentials stay with local agents).
 */
export function resolveAgentModel(
  config: GatewayConfig,
  agentId: string,
  workspace?: WorkspaceAgents,
): ResolvedAgentModel {
  const local = config.agents.list.find((candidate) => candidate.id === agentId);
  if (!local) return resolveWorkspaceAgent(config, findWorkspaceAgent(config, agentId, workspace), workspace);
  const agent = local;
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
  return { agent, providerId, provider, model, apiKey: provider.apiKey, source: 'local' };
}

function findWorkspaceAgent(config: GatewayConfig, agentId: string, workspace?: WorkspaceAgents): Agent {
  const held = workspace?.get(agentId);
  if (held) return held;
  // findAgent throws the right refusal (NOT_FOUND, or the workspace agent's unavailability).
  findAgent(config, agentId, workspace);
  throw new ApiError('NOT_FOUND', `No agent "${agentId}"`);
}

function resolveWorkspaceAgent(
  config: GatewayConfig,
  agent: Agent,
  workspace: WorkspaceAgents | undefined,
): ResolvedAgentModel {
  const kind = PROVIDER_KINDS[agent.provider];
  const own = Object.hasOwn(config.models.providers, agent.provider)
    ? config.models.providers[agent.provider]
    : undefined;
  const baseUrl = own?.baseUrl ?? kind.publicBaseUrl;
  if (!baseUrl) {
    throw unavailable(
      agent.id,
      `its provider is "${agent.provider}", which has no public address: add models.providers["${agent.provider}"] with the server's baseUrl to openclaw.json`,
    );
  }
  const apiKey = grantedSecret(agent, workspace);
  return {
    agent: asLocalAgent(agent),
    providerId: agent.provider,
    provider: { api: kind.api, baseUrl, apiKey, allowedAgents: [agent.id] },
    model: agent.model,
    apiKey,
    source: 'workspace',
    ...(agent.params.temperature !== undefined || agent.params.topP !== undefined
      ? {
          sampling: {
            ...(agent.params.temperature !== undefined ? { temperature: agent.params.temperature } : {}),
            ...(agent.params.topP !== undefined ? { topP: agent.params.topP } : {}),
          },
        }
      : {}),
  };
}

/** The granted secret's value: the only grant, else the one named for the provider kind. */
function grantedSecret(agent: Agent, workspace: WorkspaceAgents | undefined): string {
  const kind = PROVIDER_KINDS[agent.provider];
  if (agent.secretIds.length === 0) {
    throw unavailable(
      agent.id,
      'no vault secret is granted to it; grant its API key to the agent in the workspace',
    );
  }
  const held = agent.secretIds.map((id) => workspace?.secret(id));
  const chosen =
    agent.secretIds.length === 1 ? held[0] : held.find((secret) => secret?.name === kind.secretName);
  if (agent.secretIds.length > 1 && !chosen && held.every((secret) => secret !== undefined)) {
    throw unavailable(
      agent.id,
      `${agent.secretIds.length} secrets are granted to it and none is named ${kind.secretName}; grant one, or name the API key ${kind.secretName}`,
    );
  }
  if (!chosen) {
    throw unavailable(
      agent.id,
      'its credential has not arrived over the cloud link (the cloud may have refused it to this gateway: see the gateway log)',
    );
  }
  return chosen.value;
}

function asLocalAgent(agent: Agent): LocalAgent {
  return {
    id: agent.id,
    name: agent.name.slice(0, 100) || agent.id,
    model: `${agent.provider}/${agent.model}`,
    ...(agent.systemPrompt ? { systemPrompt: agent.systemPrompt } : {}),
    ...(agent.params.maxTokens ? { maxTokens: agent.params.maxTokens } : {}),
  };
}

/** An id the workspace gave (a cloud agent id is a UUID; local ids come from names). */
function isWorkspaceAgentId(workspace: WorkspaceAgents, agentId: string): boolean {
  return workspace.wasKnown(agentId) || Id.safeParse(agentId).success;
}

function workspaceAgentUnavailable(workspace: WorkspaceAgents, agentId: string): ApiError {
  return unavailable(agentId, workspace.unavailableReason());
}

function unavailable(agentId: string, why: string): ApiError {
  return new ApiError(
    'GATEWAY_WORKSPACE_AGENT_UNAVAILABLE',
    `Workspace agent "${agentId}" cannot run on this gateway now: ${why}`,
  );
}
