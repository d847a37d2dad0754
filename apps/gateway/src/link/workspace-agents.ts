import type { Agent, ConfigAgents, SecretsValue } from '@multiclaw/protocol';

/** A granted secret as the gateway holds it: in this process's memory only. */
export interface HeldSecret {
  id: string;
  name: string;
  value: string;
}

/**
 * The workspace's agents and their granted secret values, as the link last
 * delivered them. Nothing here is ever written to disk or logged: values
 * live for the link session (they survive a cloud outage, so runs go on) and
 * `drop` forgets everything at once (revoke, unlink, end of membership).
 * `unavailableReason` says, in words, why a workspace agent cannot run now.
 */
export class WorkspaceAgents {
  private agents = new Map<string, Agent>();
  private secrets = new Map<string, HeldSecret>();
  private version = -1;
  private reason =
    'this gateway is not linked to a workspace (multiclaw-gateway link --cloud URL --code CODE)';
  /** Ids of workspace agents held earlier in this process, so a run naming one gets the clear refusal. */
  private readonly known = new Set<string>();

  /** Applies a `config.agents` unless it is older than what is held. True when applied. */
  setAgents(config: ConfigAgents): boolean {
    if (config.version < this.version) return false;
    this.version = config.version;
    this.agents = new Map(config.agents.map((agent) => [agent.id, agent]));
    for (const id of this.agents.keys()) this.known.add(id);
    return true;
  }

  /** Replaces the held values with the cloud's latest answer (a secret no longer granted disappears). */
  setSecrets(value: SecretsValue): void {
    this.secrets = new Map(
      value.secrets.map((secret) => [secret.id, { id: secret.id, name: secret.name, value: secret.value }]),
    );
  }

  /** Forgets every agent and every value now; `reason` is what a run with one of them is told. */
  drop(reason: string): void {
    this.agents = new Map();
    this.secrets = new Map();
    this.version = -1;
    this.reason = reason;
  }

  /** Why an agent the gateway does not hold (or no longer holds) cannot run, while linked or not. */
  setUnavailableReason(reason: string): void {
    this.reason = reason;
  }

  get(agentId: string): Agent | undefined {
    return this.agents.get(agentId);
  }

  list(): Agent[] {
    return [...this.agents.values()];
  }

  /** The ids that `secrets.fetch` should ask for: agents with at least one grant. */
  agentsWithGrants(): string[] {
    return this.list()
      .filter((agent) => agent.secretIds.length > 0)
      .map((agent) => agent.id);
  }

  secret(id: string): HeldSecret | undefined {
    return this.secrets.get(id);
  }

  /** Whether `agentId` was a workspace agent in this process (held now or dropped). */
  wasKnown(agentId: string): boolean {
    return this.known.has(agentId);
  }

  unavailableReason(): string {
    return this.reason;
  }

  get size(): number {
    return this.agents.size;
  }
}
