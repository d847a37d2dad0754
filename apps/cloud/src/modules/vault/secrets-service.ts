import { randomUUID } from 'node:crypto';
import {
  ApiError,
  type CreateSecretRequest,
  type Page,
  type Secret,
  type UpdateSecretRequest,
} from '@multiclaw/protocol';
import { type Database, type Sql, sqlOf, sqlTransaction, type Transaction } from '../../db/client.js';
import { pageQuery, toPage } from '../../db/keyset-page.js';
import { bumpConfigVersion } from '../../db/write-helpers.js';
import { type EventPublisher, realtime } from '../../events/publisher.js';
import type { Actor } from '../../plugins/actor.js';
import { type AuditEntry, type AuditTx, actorEntry } from '../audit/recorder.js';
import { type SealedValue, sealedSelect, type VaultCrypto, type WrappedDataKey } from './contract.js';

/** Who acts, from where: for the audit entry. */

export type SecretServiceDeps = {
  db: Database;
  now: () => Date;
  audit: {
    record(entry: AuditEntry, tx?: AuditTx): Promise<void>;
    recordIn(sql: Sql, entry: AuditEntry & { workspaceId: string }): Promise<void>;
  };
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
  keyWrapped: Uint8Array | null;
  keyNonce: Uint8Array | null;
  keyMasterVersion: number | null;
};

/** The secret and, in the same statement, the wrapped data key it was sealed with. */
const REVEAL_ROW = `SELECT s.id, s.name, s.version, s.ciphertext, s.nonce, s.format_version AS "formatVersion",
    s.data_key_version AS "dataKeyVersion", s.master_key_version AS "masterKeyVersion",
    k.wrapped_key AS "keyWrapped", k.nonce AS "keyNonce", k.master_key_version AS "keyMasterVersion"
  FROM secrets s
  LEFT JOIN workspace_data_keys k ON k.workspace_id = s.workspace_id AND k.version = s.data_key_version
  WHERE s.workspace_id = $1::uuid AND s.id = $2::uuid`;

function dataKeyOf(workspaceId: string, row: RevealRow): WrappedDataKey | undefined {
  if (row.keyWrapped === null || row.keyNonce === null || row.keyMasterVersion === null) return undefined;
  return {
    workspaceId,
    version: row.dataKeyVersion,
    wrappedKey: row.keyWrapped,
    nonce: row.keyNonce,
    masterKeyVersion: row.keyMasterVersion,
  };
}

/**
 * `secrets.create`'s writes in one statement: the secret (unless its name is
 * taken), its grants, the granted agents' new versions and the workspace's
 * configVersion, each only when every agent id names an agent of the
 * workspace. Says which agents it found, whether it wrote, and the version.
 */
const CREATE_SECRET = `WITH found AS (
    SELECT a.id FROM agents a WHERE a.workspace_id = $1::uuid AND a.id = ANY($2::uuid[])),
  valid AS (
    SELECT (SELECT count(*) FROM found) = (SELECT count(DISTINCT x) FROM unnest($2::uuid[]) x) AS ok),
  secret AS (
    INSERT INTO secrets (id, workspace_id, name, description, ciphertext, nonce, format_version, data_key_version,
                         master_key_version, version, created_at, updated_at)
    SELECT $3::uuid, $1::uuid, $4, $5, $6::bytea, $7::bytea, $8::int4, $9::int4, $10::int4, 1, $11::timestamptz, $11::timestamptz
     WHERE (SELECT ok FROM valid)
    ON CONFLICT (workspace_id, name) DO NOTHING
    RETURNING id),
  granted AS (
    INSERT INTO secret_grants (workspace_id, secret_id, agent_id, created_at)
    SELECT $1::uuid, s.id, f.id, $11::timestamptz FROM secret s, found f
    RETURNING agent_id),
  touched AS (
    UPDATE agents a SET version = a.version + 1, updated_at = $11::timestamptz
     WHERE a.workspace_id = $1::uuid AND a.id IN (SELECT agent_id FROM granted)
    RETURNING a.id),
  bumped AS (
    UPDATE workspaces w SET config_version = w.config_version + 1, updated_at = $11::timestamptz
     WHERE w.id = $1::uuid AND EXISTS (SELECT 1 FROM secret)
    RETURNING w.config_version)
  SELECT (SELECT coalesce(array_agg(id::text), '{}'::text[]) FROM found) AS found,
         EXISTS (SELECT 1 FROM secrets t WHERE t.workspace_id = $1::uuid AND t.name = $4) AS taken,
         EXISTS (SELECT 1 FROM secret) AS created,
         (SELECT count(*) FROM touched)::int4 AS touched,
         (SELECT config_version FROM bumped) AS "configVersion"`;

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
      // On node-postgres (bench/vault): BEGIN, the data key's use count (sealing),
      // one statement for the writes, the audit entry (audit_append), COMMIT: one
      // commit, so one WAL flush, per create.
      const row = await sqlTransaction(db, async (sql) => {
        const sealed = await crypto.seal(sql, { workspaceId, secretId: id }, input.value);
        const { rows } = await sql.query<{
          found: string[];
          taken: boolean;
          created: boolean;
          touched: number;
          configVersion: number | null;
        }>(CREATE_SECRET, [
          workspaceId,
          input.agentIds,
          id,
          input.name,
          input.description ?? null,
          Buffer.from(sealed.ciphertext),
          Buffer.from(sealed.nonce),
          sealed.formatVersion,
          sealed.dataKeyVersion,
          sealed.masterKeyVersion,
          at,
        ]);
        const result = rows[0];
        if (!result) throw new Error('secrets.create: the statement returned no row');
        const nameTaken = () =>
          new ApiError('SECRET_NAME_TAKEN', 'A secret with this name already exists in this workspace');
        if (result.taken) throw nameTaken();
        const found = new Set(result.found.map((agentId) => agentId.toLowerCase()));
        const issues = input.agentIds.flatMap((agentId, index) =>
          found.has(agentId.toLowerCase())
            ? []
            : [{ path: `body.agentIds.${index}`, message: 'No such agent in this workspace' }],
        );
        if (issues.length > 0) throw new ApiError('VALIDATION_FAILED', 'The request is invalid', { issues });
        // Not written though valid and free when read: a concurrent create took the name.
        if (!result.created) throw nameTaken();
        const configVersion = Number(result.configVersion);
        await audit.recordIn(sql, {
          ...actorEntry(actor, workspaceId, 'secret.created', { type: 'secret', id }),
          workspaceId,
          metadata: { name: input.name, version: 1, agents: input.agentIds.length, configVersion },
        });
        return {
          id,
          name: input.name,
          description: input.description ?? null,
          version: 1,
          createdAt: at,
          updatedAt: at,
          grants: [...new Set(input.agentIds.map((agentId) => agentId.toLowerCase()))].map((agentId) => ({
            agentId,
          })),
        } satisfies MetadataRow;
      });
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
      const value = await crypto.open(
        db,
        { workspaceId, secretId },
        toSealed(row),
        dataKeyOf(workspaceId, row),
      );
      await audit.record({
        ...actorEntry(actor, workspaceId, 'secret.revealed', { type: 'secret', id: secretId }),
        metadata: { name: row.name, version: row.version },
      });
      return { value };
    },
  };
}

export type SecretService = ReturnType<typeof createSecretService>;
