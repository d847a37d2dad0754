import { createHash } from 'node:crypto';
import { type Database, type Sql, sqlOf, type Transaction } from '../../db/client.js';
import { canonicalIp, canonicalJson, cleanMetadata, cleanText } from './canonical.js';

export type AuditEntry = {
  action: string;
  /** The user who acted; absent for anonymous actions (a sign-in with an unknown email). */
  actorId?: string | undefined;
  actorKind?: 'user' | 'gateway' | 'system' | 'anonymous';
  workspaceId?: string | undefined;
  targetType?: string | undefined;
  targetId?: string | undefined;
  /** Never a password, token or secret value: callers pass identifiers only. */
  metadata?: Record<string, string | number | boolean | null> | undefined;
  ip?: string | undefined;
  userAgent?: string | undefined;
};

/** An entry for `actor` acting in a workspace, on `target` when there is one. */
export function actorEntry(
  actor: { userId: string; ip?: string | undefined; userAgent?: string | undefined },
  workspaceId: string,
  action: string,
  target?: { type: string; id: string },
  metadata?: AuditEntry['metadata'],
): AuditEntry {
  return {
    action,
    workspaceId,
    actorId: actor.userId,
    targetType: target?.type,
    targetId: target?.id,
    ...(metadata ? { metadata } : {}),
    ip: actor.ip,
    userAgent: actor.userAgent,
  };
}

/** A Prisma interactive-transaction client, for callers that write the event in their own transaction. */
export type AuditTx = Transaction;

/** An entry as stored (and as read back): everything the hash covers. */
export type StoredAuditFields = {
  workspaceId: string | null;
  seq: bigint;
  actorKind: string;
  actorId: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  metadata: unknown;
  ip: string | null;
  userAgent: string | null;
  createdAt: Date;
};

const MAX_USER_AGENT = 512;

/**
 * Advisory-lock namespace of the audit chain (two-int form: it cannot collide
 * with single-bigint advisory locks taken elsewhere); the second key is
 * `hashtext(workspace id)`. A hash collision only serialises two workspaces'
 * writers, never merges their chains.
 */
export const AUDIT_LOCK_NAMESPACE = 0x61756474; // 'audt'

/**
 * The canonical bytes of an entry, version-tagged. Workspace entries cover
 * every field. Account-level entries (no workspace) leave out the client IP
 * and user agent: account deletion erases those two fields by design
 * (docs/security-model.md, "Your own data"), and the hash must survive that.
 */
export function canonicalAuditEntry(entry: StoredAuditFields): string {
  return JSON.stringify(canonicalFields(entry));
}

function canonicalFields(entry: StoredAuditFields): unknown[] {
  const chained = entry.workspaceId !== null;
  return [
    chained ? 'multiclaw.audit.v1' : 'multiclaw.audit.account.v1',
    entry.workspaceId,
    entry.seq.toString(),
    entry.actorKind,
    entry.actorId,
    entry.action,
    entry.targetType,
    entry.targetId,
    entry.metadata === null || entry.metadata === undefined ? null : canonicalJson(entry.metadata),
    chained ? canonicalIp(entry.ip) : null,
    chained ? entry.userAgent : null,
    entry.createdAt.toISOString(),
  ];
}

/**
 * The canonical entry around its seq, as UTF-8: `canonicalAuditEntry` is
 * `head ‖ seq (decimal) ‖ tail`. For the database function `audit_append`,
 * which learns the seq under the chain's lock and hashes the same bytes.
 */
export function canonicalAroundSeq(entry: StoredAuditFields): { head: Buffer; tail: Buffer } {
  const [label, workspaceId, , ...rest] = canonicalFields(entry);
  return {
    head: Buffer.from(`${JSON.stringify([label, workspaceId]).slice(0, -1)},"`, 'utf8'),
    tail: Buffer.from(`",${JSON.stringify(rest).slice(1)}`, 'utf8'),
  };
}

/** SHA-256(prevHash ‖ canonical entry); an empty prevHash for the first entry and for account-level ones. */
export function hashAuditEntry(prevHash: Uint8Array | null, entry: StoredAuditFields): Buffer {
  return createHash('sha256')
    .update(prevHash ?? new Uint8Array(0))
    .update(canonicalAuditEntry(entry))
    .digest();
}

/**
 * Appends audit events. Events of a workspace extend that workspace's hash
 * chain: under a transaction-scoped advisory lock on the workspace, the next
 * entry takes `seq = last + 1` and `prevHash = last hash` (the unique
 * (workspace_id, seq) key is the backstop). Account-level events (no
 * workspace) take no lock: seq 0, no link, a standalone hash.
 *
 * `record(entry, tx)` writes inside the caller's transaction; the chain lock is
 * then held until that transaction ends, so keep it short.
 */
export function createAuditRecorder(deps: { db: Database; now: () => Date }) {
  async function append(tx: AuditTx, entry: AuditEntry, createdAt: Date): Promise<void> {
    const fields = prepare(entry, createdAt);
    if (fields.workspaceId === null) {
      await tx.auditEvent.create({
        data: toRow(fields, null, hashAuditEntry(null, fields)),
      });
      return;
    }
    await appendChained(sqlOf(tx as unknown as Database), fields);
  }

  return {
    async record(entry: AuditEntry, tx?: AuditTx): Promise<void> {
      const createdAt = deps.now();
      if (tx) return append(tx, entry, createdAt);
      if (!entry.workspaceId) {
        // No lock, no transaction: account-level events are written at sign-in rate.
        return append(deps.db as unknown as AuditTx, entry, createdAt);
      }
      // A chained entry on its own (a reveal, a sign-in's first visit): one
      // statement on node-postgres, its own transaction (audit_append).
      await appendChained(sqlOf(deps.db), prepare(entry, createdAt));
    },

    /** A workspace entry in a node-postgres transaction (`sqlTransaction`): the chain's lock until it ends. */
    async recordIn(sql: Sql, entry: AuditEntry & { workspaceId: string }): Promise<void> {
      await appendChained(sql, chainedFields(entry, deps.now()));
    },
  };
}

/**
 * Extends the entry's workspace chain in one statement: `audit_append`
 * (migration 20261201063500) takes the chain's advisory lock, reads the last
 * entry, and inserts this one with seq = last + 1, prevHash = last hash and
 * hash = SHA-256(prevHash ‖ head ‖ seq ‖ tail), the same bytes as
 * `hashAuditEntry`. Inside a transaction the lock is held until it ends.
 */
export async function appendChained(sql: Sql, fields: StoredAuditFields): Promise<void> {
  if (fields.workspaceId === null) throw new Error('appendChained: account-level entries are not chained');
  const { head, tail } = canonicalAroundSeq(fields);
  await sql.query(AUDIT_APPEND, [
    AUDIT_LOCK_NAMESPACE,
    fields.workspaceId,
    fields.workspaceId,
    fields.actorKind,
    fields.actorId,
    fields.action,
    fields.targetType,
    fields.targetId,
    fields.metadata === null ? null : JSON.stringify(fields.metadata),
    fields.ip,
    fields.userAgent,
    fields.createdAt,
    head,
    tail,
  ]);
}

const AUDIT_APPEND = `SELECT audit_append($1::int4, $2::text, $3::uuid, $4::audit_actor_kind, $5::uuid, $6::text, $7::text,
    $8::text, $9::jsonb, $10::inet, $11::text, $12::timestamptz, $13::bytea, $14::bytea)::text AS seq`;

/** An entry for the given time, as `record` would store it (for a hot path that appends it itself). */
export function chainedFields(entry: AuditEntry, createdAt: Date): StoredAuditFields {
  if (!entry.workspaceId) throw new Error('chainedFields: only workspace entries are chained');
  return prepare(entry, createdAt);
}

export type AuditRecorder = ReturnType<typeof createAuditRecorder>;

/** One audit row, in the column order of `auditEventValues`. */
export const INSERT_AUDIT_EVENT = `INSERT INTO audit_events
  (workspace_id, seq, actor_kind, actor_id, action, target_type, target_id, metadata, ip, user_agent, created_at, prev_hash, hash)
  VALUES ($1::uuid, $2::bigint, $3::audit_actor_kind, $4::uuid, $5, $6, $7, $8::jsonb, $9::inet, $10, $11::timestamptz, $12::bytea, $13::bytea)`;

/** The parameters of `INSERT_AUDIT_EVENT` for a row from `toRow`. */
export function auditEventValues(row: ReturnType<typeof toRow>): unknown[] {
  return [
    row.workspaceId,
    row.seq.toString(),
    row.actorKind,
    row.actorId,
    row.action,
    row.targetType,
    row.targetId,
    row.metadata === undefined ? null : JSON.stringify(row.metadata),
    row.ip,
    row.userAgent,
    row.createdAt,
    row.prevHash ? Buffer.from(row.prevHash) : null,
    Buffer.from(row.hash),
  ];
}

/**
 * An account-level entry (no workspace: no chain, no lock, a standalone hash)
 * as `record` would store it, for a hot path that writes it in its own
 * statement together with the change it records (sign-in).
 */
export function accountEntryRow(entry: AuditEntry, createdAt: Date) {
  if (entry.workspaceId) throw new Error('accountEntryRow: workspace entries extend their chain (record)');
  const fields = prepare(entry, createdAt);
  return toRow(fields, null, hashAuditEntry(null, fields));
}

/** The entry exactly as it will be stored, so the hash computed now is the hash verify recomputes. */
function prepare(entry: AuditEntry, createdAt: Date): StoredAuditFields {
  const userAgent = entry.userAgent === undefined ? null : cleanText(entry.userAgent, MAX_USER_AGENT);
  return {
    workspaceId: entry.workspaceId ?? null,
    seq: 0n,
    actorKind: entry.actorKind ?? (entry.actorId ? 'user' : 'anonymous'),
    actorId: entry.actorId ?? null,
    action: entry.action,
    targetType: entry.targetType ?? null,
    targetId: entry.targetId ?? null,
    metadata: entry.metadata ? cleanMetadata(entry.metadata) : null,
    ip: entry.ip ?? null,
    userAgent,
    // Stored as timestamptz(3): milliseconds, which is all a Date holds.
    createdAt: new Date(createdAt.getTime()),
  };
}

function toRow(fields: StoredAuditFields, prevHash: Uint8Array | null, hash: Buffer) {
  return {
    workspaceId: fields.workspaceId,
    seq: fields.seq,
    actorKind: fields.actorKind as 'user' | 'gateway' | 'system' | 'anonymous',
    actorId: fields.actorId,
    action: fields.action,
    targetType: fields.targetType,
    targetId: fields.targetId,
    ...(fields.metadata === null ? {} : { metadata: fields.metadata as Record<string, string> }),
    ip: fields.ip,
    userAgent: fields.userAgent,
    createdAt: fields.createdAt,
    prevHash: prevHash ? new Uint8Array(prevHash) : null,
    hash: new Uint8Array(hash),
  };
}
