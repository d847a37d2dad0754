/**
 * What may leave the machine (docs/data-residency.md), as one function the
 * outbox asks for every conversation before each batch. Nothing syncs unless
 * the gateway is linked; the outbox only runs while it is.
 */
export type AgentSource = 'workspace' | 'local';

export interface SyncScope {
  /** Whether `agentId` is an agent of the linked workspace (as the link's `config.agents` last said). */
  isWorkspaceAgent(agentId: string): boolean;
  /** Local agents the person opted in (`sync.agents` in openclaw.json). */
  optedInAgents: ReadonlySet<string>;
}

/**
 * How a conversation with `agentId` syncs, or undefined when it stays local:
 * a workspace agent's conversations always sync to its workspace; a local
 * agent's only when the person opted that agent in. A workspace agent of
 * another workspace is neither, so its conversations never go to this one.
 */
export function syncSourceOf(agentId: string, scope: SyncScope): AgentSource | undefined {
  if (scope.isWorkspaceAgent(agentId)) return 'workspace';
  if (scope.optedInAgents.has(agentId)) return 'local';
  return undefined;
}
