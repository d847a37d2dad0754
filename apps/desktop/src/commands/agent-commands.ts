import type { ConfigFile } from '@multiclaw/gateway/client';
import { LocalAgent } from '@multiclaw/protocol';
import { z } from 'zod';
import type { GatewayConnection } from '../gateway/gateway-connection.js';
import type { CommandHandlers } from '../ipc/registry.js';

export interface AgentCommandDeps {
  gateway: GatewayConnection;
  /** openclaw.json: which listed agents are local (editable) rather than the linked workspace's. */
  config: ConfigFile;
}

const AgentsList = z.object({
  defaultId: z.string().optional(),
  agents: z.array(z.object({ id: z.string(), name: z.string(), model: z.object({ primary: z.string() }) })),
});
const OneAgent = z.object({ agent: LocalAgent });
const Created = z.object({ agentId: z.string() });
const Deleted = z.object({ removedBindings: z.number().int().nonnegative() });

/** Local agents, through the gateway's control protocol: the gateway owns openclaw.json's agent list. */
export function agentCommands(
  deps: AgentCommandDeps,
): Pick<CommandHandlers, 'agents.list' | 'agents.get' | 'agents.create' | 'agents.update' | 'agents.delete'> {
  const get = async (agentId: string) =>
    OneAgent.parse(await deps.gateway.call('multiclaw.agents.get', { agentId })).agent;
  const upsert = async (agent: LocalAgent) =>
    OneAgent.parse(await deps.gateway.call('multiclaw.agents.upsert', { agent })).agent;

  return {
    'agents.list': async () => {
      const listed = AgentsList.parse(await deps.gateway.call('agents.list'));
      const local = new Set((await deps.config.current()).agents.list.map((agent) => agent.id));
      // Agents that are not in openclaw.json came over the link: they belong to the linked workspace.
      const workspaceId = listed.agents.some((agent) => !local.has(agent.id))
        ? (await deps.gateway.status()).link?.workspaceId
        : undefined;
      return {
        ...(listed.defaultId ? { defaultId: listed.defaultId } : {}),
        agents: listed.agents.map((agent) => ({
          id: agent.id,
          name: agent.name,
          model: agent.model.primary,
          editable: local.has(agent.id),
          ...(!local.has(agent.id) && workspaceId ? { workspaceId } : {}),
        })),
      };
    },
    'agents.get': async ({ agentId }) => ({ agent: await get(agentId) }),
    'agents.create': async ({ name, model, systemPrompt, maxTokens }) => {
      // The gateway derives the id from the name and refuses a taken one; the rest of the definition follows.
      const { agentId } = Created.parse(await deps.gateway.call('agents.create', { name, model }));
      if (systemPrompt === undefined && maxTokens === undefined) return { agent: await get(agentId) };
      return { agent: await upsert({ id: agentId, name, model, systemPrompt, maxTokens }) };
    },
    'agents.update': async ({ agentId, name, model, systemPrompt, maxTokens }) => {
      const { systemPrompt: oldPrompt, maxTokens: oldMax, ...current } = await get(agentId);
      const prompt = systemPrompt === null ? undefined : (systemPrompt ?? oldPrompt);
      const max = maxTokens === null ? undefined : (maxTokens ?? oldMax);
      const agent = await upsert({
        ...current,
        ...(name ? { name } : {}),
        ...(model ? { model } : {}),
        ...(prompt === undefined ? {} : { systemPrompt: prompt }),
        ...(max === undefined ? {} : { maxTokens: max }),
      });
      return { agent };
    },
    'agents.delete': async ({ agentId }) => {
      const { removedBindings } = Deleted.parse(await deps.gateway.call('agents.delete', { agentId }));
      return { agentId, removedGrants: removedBindings };
    },
  };
}
