import { randomUUID } from 'node:crypto';
import {
  ApiError,
  type CreateSecretRequest,
  type Page,
  type Secret,
  type UpdateSecretRequest,
} from '@multiclaw/protocol';
import { type Database, sqlOf, type Transaction } from '../../db/client.js';
import { pageQuery, toPage } from '../../db/keyset-page.js';
import { bumpConfigVersion, isUniqueViolation } from '../../db/write-helpers.js';
import { type EventPublisher, realtime } from '../../events/publisher.js';
import type { Actor } from '../../plugins/actor.js';
import { type AuditEntry, type AuditTx, actorEntry } from '../audit/recorder.js';
import { type SealedValue, sealedSelect, type VaultCrypto } from './contract.js';

/** Who acts, from where: for the audit entry. */

export type SecretServiceDeps = {
  db: Database;
  now: () => Date;
  audit: { record(entry: AuditEntry, tx?: AuditTx): Promise<void> };
  crypto: VaultCrypto;
  /** Superseded values kept per secret (secret_versions rows); older ones are deleted. Default 1. */
  keepVersions?: number | undefined;
  /**
   * Announces each committed change, by id only (never a name or a value):
   * to members' desktops, and to linked gateways, whose agents' grants or
   * granted values it may have changed.
   */
  events?: EventPublisher | undefined;
};

export const DEFAULT_KEEP_VERSIONS = 1;

/** Metadata columns only: the ciphertext is never selected for a metadata response. */
const metadataSelect = {
  id: true,
  name: true,
  description: true,
  version: true,
  createdAt: true,
  updatedAt: true,
  grants: { select: { agentId: true }, orderBy: { createdAt: 'asc' } },
} as const;

type MetadataRow = {
  id: string;
  name: string;
  description: string | null;
  version: number;
  createdAt: Date;
  updatedAt: Date;
  grants: { agentId: string }[];
};

function toSecret(row: MetadataRow): Secret {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    version: row.version,
    agentIds: row.grants.map((grant) => grant.agentId),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

type RevealRow = {
  id: string;
  name: string;
  version: number;
  ciphertext: Uint8Array;
  nonce: Uint8Array;
  formatVersion: number;
  dataKeyVersion: number;
  masterKeyVersion: number;
};

const REVEAL_ROW = `SELECT id, name, version, ciphertext, nonce, format_version AS "formatVersion",
    data_key_version AS "dataKeyVersion", master_key_version AS "masterKeyVersion"
  FROM secrets WHERE workspace_id = $1::uuid AND id = $2::uuid`;

export function toSealed(row: {
  ciphertext: Uint8Array;
  nonce: Uint8Array;
  formatVersion: number;
  dataKeyVersion: number;
  masterKeyVersion: number;
}): SealedValue {
  return {
    ciphertext: new Uint8Array(row.ciphertext),
    nonce: new Uint8Array(row.nonce),
    formatVersion: row.formatVersion,
    dataKeyVersion: row.dataKeyVersion,
    masterKeyVersion: row.masterKeyVersion,
  };
}

/** The columns a sealed value is stored in (secrets and secret_versions alike). */
function sealedColumns(sealed: SealedValue) {
  return {
    ciphertext: sealed.ciphertext,
    nonce: sealed.nonce,
    formatVersion: sealed.formatVersion,
    dataKeyVersion: sealed.dataKeyVersion,
    masterKeyVersion: sealed.masterKeyVersion,
  };
}

async function nameTaken<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (isUniqueViolation(error))
      throw new ApiError('SECRET_NAME_TAKEN', 'A secret with this name already exists in this workspace');
    throw error;
  }
}

const notFound = () => new ApiError('NOT_FOUND', 'No such secret');

/** Every agent id must name an agent of this workspace; unknown ones are a 400 on their field path. */
async function assertAgentsInWorkspace(tx: Transaction, workspaceId: string, agentIds: string[]) {
  if (agentIds.length === 0) return;
  const found = await tx.agent.findMany({
    where: { workspaceId, id: { in: agentIds } },
    select: { id: true },
  });
  const known = new Set(found.map((agent) => agent.id));
  const issues = agentIds.flatMap((id, index) =>
    known.has(id) ? [] : [{ path: `body.agentIds.${index}`, message: 'No such agent in this workspace' }],
  );
  if (issues.length > 0) throw new ApiError('VALIDATION_FAILED', 'The request is invalid', { issues });
}

/**
 * Grants change an agent's configuration (its secretIds): the agents whose
 * grants changed get a new version, and the workspace a new configVersion.
 */
async function touchAgents(tx: Transaction, workspaceId: string, agentIds: string[], at: Date) {
  if (agentIds.length === 0) return;
  await tx.agent.updateMany({
    where: { workspaceId, id: { in: agentIds } },
    data: { version: { increment: 1 }, updatedAt: at },
  });
}

/**
 * The workspace secret vault, API side. Values are sealed by `crypto` (the
 * envelope encryption) inside the transaction that writes the row; the
 * secret's id is generated here before sealing because it is part of the
 * AAD. Every query is scoped by (workspace, id), so a secret of another
 * workspace is indistinguishable from a missing one. Audit entries carry
 * names, ids and versions, never a value.
 */
export function createSecretService(deps: SecretServiceDeps) {
  const { db, now, audit, crypto, events } = deps;
  const announce = (workspaceId: string, secretId: string, at: Date) =>
    events?.publish(realtime('secret.changed', workspaceId, { secretId }, at), {
      type: 'agents.changed',
      workspaceId,
    });
  const keepVersions = Math.max(0, Math.floor(deps.keepVersions ?? DEFAULT_KEEP_VERSIONS));

  return {
    async list(
      workspaceId: string,
      page: { cursor?: string | undefined; limit: number },
    ): Promise<Page<Secret>> {
      const query = pageQuery(page);
      const rows = await db.secret.findMany({
        where: { workspaceId, ...query.where },
        orderBy: query.orderBy,
        take: query.take,
        select: metadataSelect,
      });
      return toPage(rows, page.limit, toSecret);
    },

    async get(workspaceId: string, secretId: string): Promise<Secret> {
      const row = await db.secret.findUnique({
        where: { workspaceId_id: { workspaceId, id: secretId } },
        select: metadataSelect,
      });
      if (!row) throw notFound();
      return toSecret(row);
    },

    async create(workspaceId: string, input: CreateSecretRequest, actor: Actor): Promise<Secret> {
      const at = now();
      // The id is in the AAD: generated before sealing, then written with the ciphertext.
      const id = randomUUID();
      const row = await nameTaken(() =>
        db.$transaction(async (tx) => {
          const clash = await tx.secret.findUnique({
            where: { workspaceId_name: { workspaceId, name: input.name } },
            select: { id: true },
          });
          if (clash)
            throw new ApiError(
              'SECRET_NAME_TAKEN',
              'A secret with this name already exists in this workspace',
            );
          await assertAgentsInWorkspace(tx, workspaceId, input.agentIds);
          const sealed = await crypto.seal(tx, { workspaceId, secretId: id }, input.value);
          await tx.secret.create({
            data: {
              id,
              workspaceId,
              name: input.name,
              description: input.description ?? null,
              ...sealedColumns(sealed),
              version: 1,
              createdAt: at,
              updatedAt: at,
            },
            select: { id: true },
          });
          if (input.agentIds.length > 0) {
            await tx.secretGrant.createMany({
              data: input.agentIds.map((agentId) => ({ workspaceId, secretId: id, agentId, createdAt: at })),
            });
            await touchAgents(tx, workspaceId, input.agentIds, at);
          }
          const configVersion = await bumpConfigVersion(tx, workspaceId);
          await audit.record(
            {
              ...actorEntry(actor, workspaceId, 'secret.created', { type: 'secret', id }),
              metadata: { name: input.name, version: 1, agents: input.agentIds.length, configVersion },
            },
            tx,
          );
          return tx.secret.findUniqueOrThrow({
            where: { workspaceId_id: { workspaceId, id } },
            select: metadataSelect,
          });
        }),
      );
      await announce(workspaceId, id, at);
      return toSecret(row);
    },

    async update(
      workspaceId: string,
      secretId: string,
      input: UpdateSecretRequest,
      actor: Actor,
    ): Promise<Secret> {
      const at = now();
      const row = await db.$transaction(async (tx) => {
        // Lock the row: concurrent updates of one secret serialise, so versions never skip or repeat.
        const locked = await tx.$queryRaw<{ id: string }[]>`
          SELECT id FROM secrets WHERE workspace_id = ${workspaceId}::uuid AND id = ${secretId}::uuid FOR UPDATE`;
        if (locked.length === 0) throw notFound();
        const current = await tx.secret.findUniqueOrThrow({
          where: { workspaceId_id: { workspaceId, id: secretId } },
          select: { name: true, version: true, ...sealedSelect, grants: { select: { agentId: true } } },
        });

        let version = current.version;
        if (input.value !== undefined) {
          const sealed = await crypto.seal(tx, { workspaceId, secretId }, input.value);
          // The superseded value moves to secret_versions (same place, so same AAD)...
          await tx.secretVersion.create({
            data: {
              secretId,
              workspaceId,
              version: current.version,
              ...sealedColumns(toSealed(current)),
              createdAt: at,
            },
          });
          version = current.version + 1;
          await tx.secret.update({
            where: { workspaceId_id: { workspaceId, id: secretId } },
            data: { ...sealedColumns(sealed), version },
          });
          // ...and only the newest `keepVersions` superseded values stay.
          await tx.secretVersion.deleteMany({
            where: { workspaceId, secretId, version: { lt: version - keepVersions } },
          });
        }

        if (input.agentIds !== undefined) {
          await assertAgentsInWorkspace(tx, workspaceId, input.agentIds);
          const before = new Set(current.grants.map((grant) => grant.agentId));
          const after = new Set(input.agentIds);
          await tx.secretGrant.deleteMany({
            where: { workspaceId, secretId, agentId: { notIn: input.agentIds } },
          });
          const added = input.agentIds.filter((agentId) => !before.has(agentId));
          if (added.length > 0) {
            await tx.secretGrant.createMany({
              data: added.map((agentId) => ({ workspaceId, secretId, agentId, createdAt: at })),
            });
          }
          const removed = [...before].filter((agentId) => !after.has(agentId));
          await touchAgents(tx, workspaceId, [...added, ...removed], at);
        }

        await tx.secret.update({
          where: { workspaceId_id: { workspaceId, id: secretId } },
          data: {
            ...(input.description !== undefined ? { description: input.description } : {}),
            updatedAt: at,
          },
        });
        const configVersion = await bumpConfigVersion(tx, workspaceId);
        await audit.record(
          {
            ...actorEntry(actor, workspaceId, 'secret.updated', { type: 'secret', id: secretId }),
            metadata: {
              name: current.name,
              version,
              configVersion,
              // Which fields changed, by name: never their values.
              fields: (['value', 'description', 'agentIds'] as const)
                .filter((key) => input[key] !== undefined)
                .join(','),
            },
          },
          tx,
        );
        return tx.secret.findUniqueOrThrow({
          where: { workspaceId_id: { workspaceId, id: secretId } },
          select: metadataSelect,
        });
      });
      await announce(workspaceId, secretId, at);
      return toSecret(row);
    },

    async delete(workspaceId: string, secretId: string, actor: Actor): Promise<void> {
      const at = now();
      await db.$transaction(async (tx) => {
        const existing = await tx.secret.findUnique({
          where: { workspaceId_id: { workspaceId, id: secretId } },
          select: { id: true, name: true, version: true, grants: { select: { agentId: true } } },
        });
        if (!existing) throw notFound();
        // deleteMany scoped by workspace: a concurrent delete leaves 0 rows, answered as 404.
        // Versions and grants go with it (foreign key cascades).
        const { count } = await tx.secret.deleteMany({ where: { workspaceId, id: secretId } });
        if (count === 0) throw notFound();
        await touchAgents(
          tx,
          workspaceId,
          existing.grants.map((grant) => grant.agentId),
          at,
        );
        const configVersion = await bumpConfigVersion(tx, workspaceId);
        await audit.record(
          {
            ...actorEntry(actor, workspaceId, 'secret.deleted', { type: 'secret', id: secretId }),
            metadata: { name: existing.name, version: existing.version, configVersion },
          },
          tx,
        );
      });
      await announce(workspaceId, secretId, at);
    },

    /** The value, for an owner. Audited (who, when, which secret and version) before it is returned. */
    async reveal(workspaceId: string, secretId: string, actor: Actor): Promise<{ value: string }> {
      // Straight on node-postgres: the hot read of the vault (bench/vault).
      const { rows } = await sqlOf(db).query<RevealRow>(REVEAL_ROW, [workspaceId, secretId]);
      const row = rows[0];
      if (!row) throw notFound();
      // VaultIntegrityError propagates: VAULT_INTEGRITY_FAILED to the client, the details to the log.
      const value = await crypto.open(db, { workspaceId, secretId }, toSealed(row));
      await audit.record({
        ...actorEntry(actor, workspaceId, 'secret.revealed', { type: 'secret', id: secretId }),
        metadata: { name: row.name, version: row.version },
      });
      return { value };
    },
  };
}

export type SecretService = ReturnType<typeof createSecretService>;
