import { createHash } from 'node:crypto';
import type { Database } from '../../db/client.js';

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

/** The fields an entry's hash covers, in a fixed order. */
function canonical(entry: AuditEntry & { createdAt: Date; actorKind: string }): string {
  return JSON.stringify([
    entry.workspaceId ?? null,
    entry.actorKind,
    entry.actorId ?? null,
    entry.action,
    entry.targetType ?? null,
    entry.targetId ?? null,
    entry.metadata ?? null,
    entry.ip ?? null,
    entry.userAgent ?? null,
    entry.createdAt.toISOString(),
  ]);
}

export function hashAuditEntry(
  prevHash: Buffer | null,
  entry: AuditEntry & { createdAt: Date; actorKind: string },
): Buffer {
  return createHash('sha256')
    .update(prevHash ?? Buffer.alloc(0))
    .update(canonical(entry))
    .digest();
}

/**
 * Appends audit events. Account-level events (no workspace) are hashed on
 * their own; the per-workspace hash chain and its verification arrive with
 * the workspace audit log.
 */
export function createAuditRecorder(deps: { db: Database; now: () => Date }) {
  return {
    async record(entry: AuditEntry): Promise<void> {
      const createdAt = deps.now();
      const actorKind = entry.actorKind ?? (entry.actorId ? 'user' : 'anonymous');
      await deps.db.auditEvent.create({
        data: {
          workspaceId: entry.workspaceId ?? null,
          seq: 0n,
          actorKind,
          actorId: entry.actorId ?? null,
          action: entry.action,
          targetType: entry.targetType ?? null,
          targetId: entry.targetId ?? null,
          ...(entry.metadata ? { metadata: entry.metadata } : {}),
          ip: entry.ip ?? null,
          userAgent: entry.userAgent?.slice(0, 512) ?? null,
          createdAt,
          hash: new Uint8Array(hashAuditEntry(null, { ...entry, actorKind, createdAt })),
        },
      });
    },
  };
}

export type AuditRecorder = ReturnType<typeof createAuditRecorder>;
