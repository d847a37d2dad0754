import {
  type Agent,
  AgentModelParams,
  ApiError,
  type CreateAgentRequest,
  type Page,
  type UpdateAgentRequest,
} from '@multiclaw/protocol';
import { z } from 'zod';
import { type Database, sqlOf, type Transaction } from '../../db/client.js';
import { decodeCursor, toPage } from '../../db/keyset-page.js';
import { bumpConfigVersion, isUniqueViolation } from '../../db/write-helpers.js';
import { type EventPublisher, realtime } from '../../events/publisher.js';
import type { Actor } from '../../plugins/actor.js';
import { type AuditEntry, type AuditTx, actorEntry } from '../audit/recorder.js';

export type AgentServiceDeps = {
  db: Database;
  now: () => Date;
  /** Always inside the change's transaction: no audit entry, no change. */
  audit: { record(entry: AuditEntry, tx: AuditTx): Promise<void> };
  /** Announces each committed change: to members' desktops, and to the workspace's linked gateways. */
  events?: EventPublisher;
};

export const agentSelect = {
  id: true,
  name: true,
  description: true,
  provider: true,
  model: true,
  systemPrompt: true,
  params: true,
  tools: true,
  version: true,
  createdAt: true,
  updatedAt: true,
  secretGrants: { select: { secretId: true }, orderBy: { createdAt: 'asc' } },
} as const;

type AgentRow = {
  id: string;
  name: string;
  description: string | null;
  provider: string;
  model: string;
  systemPrompt: string;
  params: unknown;
  tools: unknown;
  version: number;
  createdAt: Date;
  updatedAt: Date;
  secretGrants: { secretId: string }[];
};

type ListedAgentRow = Omit<AgentRow, 'secretGrants'> & { secretIds: string[] };

// The same rows, order and page as the keyset query (db/keyset-page.ts), grants in grant order.
const LIST_AGENTS_SELECT = `SELECT a.id, a.name, a.description, a.provider, a.model, a.system_prompt AS "systemPrompt",
    a.params, a.tools, a.version, a.created_at AS "createdAt", a.updated_at AS "updatedAt",
    coalesce((SELECT array_agg(g.secret_id::text ORDER BY g.created_at, g.secret_id) FROM secret_grants g
               WHERE g.workspace_id = a.workspace_id AND g.agent_id = a.id), '{}') AS "secretIds"
  FROM agents a WHERE a.workspace_id = $1::uuid`;
const LIST_AGENTS = `${LIST_AGENTS_SELECT} ORDER BY a.created_at, a.id LIMIT $2`;
const LIST_AGENTS_AFTER = `${LIST_AGENTS_SELECT}
  AND (a.created_at > $3::timestamptz OR (a.created_at = $3::timestamptz AND a.id > $4::uuid))
  ORDER BY a.created_at, a.id LIMIT $2`;

export function toAgent(row: AgentRow): Agent {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    provider: row.provider as Agent['provider'],
    model: row.model,
    systemPrompt: row.systemPrompt,
    // Written only through the same schemas; parsed again so a bad row fails loudly, not silently.
    params: AgentModelParams.parse(row.params),
    tools: z.array(z.string()).parse(row.tools),
    secretIds: row.secretGrants.map((grant) => grant.secretId),
    version: row.version,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** The fields of an update, by name, for the audit entry (never their values). */
const UPDATABLE = [
  'name',
  'description',
  'provider',
  'model',
  'systemPrompt',
  'params',
  'tools',
  'secretIds',
] as const;

/**
 * Workspace agent configuration. Every query is scoped by (workspace, id), so
 * an agent of another workspace is indistinguishable from a missing one. Each
 * change bumps the agent's version and the workspace's configVersion and
 * records its audit entry (names and versions only), all in one transaction.
 */
export function createAgentService({ db, now, audit, events }: AgentServiceDeps) {
  const announce = (workspaceId: string, agentId: string, at: Date) =>
    events?.publish(realtime('agent.changed', workspaceId, { agentId }, at), {
      type: 'agents.changed',
      workspaceId,
    });

  /** Every secret id must name a secret of this workspace; unknown ones are a 400 on their field path. */
  async function assertSecretsInWorkspace(tx: Transaction, workspaceId: string, secretIds: string[]) {
    if (secretIds.length === 0) return;
    const found = await tx.secret.findMany({
      where: { workspaceId, id: { in: secretIds } },
      select: { id: true },
    });
    const known = new Set(found.map((secret) => secret.id));
    const issues = secretIds.flatMap((id, index) =>
      known.has(id) ? [] : [{ path: `body.secretIds.${index}`, message: 'No such secret in this workspace' }],
    );
    if (issues.length > 0) throw new ApiError('VALIDATION_FAILED', 'The request is invalid', { issues });
  }

  async function nameTaken<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (isUniqueViolation(error))
        throw new ApiError('AGENT_NAME_TAKEN', 'An agent with this name already exists in this workspace');
      throw error;
    }
  }

  return {
    async list(
      workspaceId: string,
      page: { cursor?: string | undefined; limit: number },
    ): Promise<Page<Agent>> {
      // One statement, the grants aggregated per agent: the list is read on every
      // desktop refresh, and Prisma would spend a second query (and ~1 ms) on them.
      const after = page.cursor === undefined ? undefined : decodeCursor(page.cursor);
      const { rows } = await sqlOf(db).query<ListedAgentRow>(
        after ? LIST_AGENTS_AFTER : LIST_AGENTS,
        after ? [workspaceId, page.limit + 1, after.createdAt, after.id] : [workspaceId, page.limit + 1],
      );
      return toPage(rows, page.limit, (row) =>
        toAgent({ ...row, secretGrants: row.secretIds.map((secretId) => ({ secretId })) }),
      );
    },

    async get(workspaceId: string, agentId: string): Promise<Agent> {
      const row = await db.agent.findUnique({
        where: { workspaceId_id: { workspaceId, id: agentId } },
        select: agentSelect,
      });
      if (!row) throw new ApiError('NOT_FOUND', 'No such agent');
      return toAgent(row);
    },

    async create(workspaceId: string, input: CreateAgentRequest, actor: Actor): Promise<Agent> {
      const at = now();
      const agent = await nameTaken(() =>
        db.$transaction(async (tx) => {
          await assertSecretsInWorkspace(tx, workspaceId, input.secretIds);
          const created = await tx.agent.create({
            data: {
              workspaceId,
              name: input.name,
              description: input.description ?? null,
              provider: input.provider,
              model: input.model,
              systemPrompt: input.systemPrompt,
              params: input.params,
              tools: input.tools,
              version: 1,
              createdAt: at,
              updatedAt: at,
              secretGrants: {
                create: input.secretIds.map((secretId) => ({ secretId, createdAt: at })),
              },
            },
            select: agentSelect,
          });
          const configVersion = await bumpConfigVersion(tx, workspaceId);
          await audit.record(
            {
              ...actorEntry(actor, workspaceId, 'agent.created', { type: 'agent', id: created.id }),
              metadata: { name: created.name, version: created.version, configVersion },
            },
            tx,
          );
          return created;
        }),
      );
      await announce(workspaceId, agent.id, at);
      return toAgent(agent);
    },

    async update(
      workspaceId: string,
      agentId: string,
      input: UpdateAgentRequest,
      actor: Actor,
    ): Promise<Agent> {
      const at = now();
      const { expectedVersion, secretIds, ...fields } = input;
      const agent = await nameTaken(() =>
        db.$transaction(async (tx) => {
          // Lock the row: concurrent updates of one agent serialise, so versions never skip or repeat.
          const current = await tx.$queryRaw<{ name: string; version: number }[]>`
            SELECT name, version FROM agents WHERE workspace_id = ${workspaceId}::uuid AND id = ${agentId}::uuid FOR UPDATE`;
          const existing = current[0];
          if (!existing) throw new ApiError('NOT_FOUND', 'No such agent');
          if (expectedVersion !== undefined && expectedVersion !== existing.version) {
            throw new ApiError(
              'AGENT_VERSION_CONFLICT',
              `The agent is at version ${existing.version}, not ${expectedVersion}: read it again and retry`,
            );
          }
          if (secretIds !== undefined) {
            await assertSecretsInWorkspace(tx, workspaceId, secretIds);
            await tx.secretGrant.deleteMany({ where: { workspaceId, agentId } });
            await tx.secretGrant.createMany({
              data: secretIds.map((secretId) => ({ workspaceId, agentId, secretId, createdAt: at })),
            });
          }
          const updated = await tx.agent.update({
            where: { workspaceId_id: { workspaceId, id: agentId } },
            data: {
              ...(fields.name !== undefined ? { name: fields.name } : {}),
              ...(fields.description !== undefined ? { description: fields.description } : {}),
              ...(fields.provider !== undefined ? { provider: fields.provider } : {}),
              ...(fields.model !== undefined ? { model: fields.model } : {}),
              ...(fields.systemPrompt !== undefined ? { systemPrompt: fields.systemPrompt } : {}),
              ...(fields.params !== undefined ? { params: fields.params } : {}),
              ...(fields.tools !== undefined ? { tools: fields.tools } : {}),
              version: { increment: 1 },
              updatedAt: at,
            },
            select: agentSelect,
          });
          const configVersion = await bumpConfigVersion(tx, workspaceId);
          await audit.record(
            {
              ...actorEntry(actor, workspaceId, 'agent.updated', { type: 'agent', id: updated.id }),
              metadata: {
                name: updated.name,
                ...(existing.name !== updated.name ? { previousName: existing.name } : {}),
                version: updated.version,
                configVersion,
                fields: UPDATABLE.filter((key) => input[key] !== undefined).join(','),
              },
            },
            tx,
          );
          return updated;
        }),
      );
      await announce(workspaceId, agent.id, at);
      return toAgent(agent);
    },

    async delete(workspaceId: string, agentId: string, actor: Actor): Promise<void> {
      const at = now();
      await db.$transaction(async (tx) => {
        const existing = await tx.agent.findUnique({
          where: { workspaceId_id: { workspaceId, id: agentId } },
          select: { id: true, name: true, version: true },
        });
        if (!existing) throw new ApiError('NOT_FOUND', 'No such agent');
        // deleteMany scoped by workspace: a concurrent delete leaves 0 rows, answered as 404.
        const { count } = await tx.agent.deleteMany({ where: { workspaceId, id: agentId } });
        if (count === 0) throw new ApiError('NOT_FOUND', 'No such agent');
        const configVersion = await bumpConfigVersion(tx, workspaceId);
        await audit.record(
          {
            ...actorEntry(actor, workspaceId, 'agent.deleted', { type: 'agent', id: existing.id }),
            metadata: { name: existing.name, version: existing.version, configVersion },
          },
          tx,
        );
      });
      await announce(workspaceId, agentId, at);
    },
  };
}

export type AgentService = ReturnType<typeof createAgentService>;
