import type { Database } from '../../db/client.js';
import { hashAuditEntry, type StoredAuditFields } from './recorder.js';

export type AuditProblem = 'hash_mismatch' | 'broken_link' | 'missing_seq';

export type AuditVerifyResult =
  | { ok: true; checked: number }
  | {
      ok: false;
      /** null for an account-level entry (then `entryId` names it; its seq is 0). */
      workspaceId: string | null;
      seq: number;
      problem: AuditProblem;
      entryId?: string;
    };

/** The last entry of a verified chain: anchor it elsewhere to detect a truncated tail later. */
export type ChainHead = { workspaceId: string; seq: number; hash: string; checked: number };

export type VerifyOptions = {
  /** Called after each intact workspace chain (progress, and the head to anchor). */
  onWorkspace?: (head: ChainHead) => void;
  /** Rows read per query. */
  batchSize?: number;
};

type Row = StoredAuditFields & { id: string; prevHash: Uint8Array | null; hash: Uint8Array };

const select = {
  id: true,
  workspaceId: true,
  seq: true,
  actorKind: true,
  actorId: true,
  action: true,
  targetType: true,
  targetId: true,
  metadata: true,
  ip: true,
  userAgent: true,
  createdAt: true,
  prevHash: true,
  hash: true,
} as const;

function same(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === null || b === null) return a === b;
  return Buffer.from(a).equals(Buffer.from(b));
}

/**
 * Recomputes every hash and checks every link. For each workspace (or only
 * `workspaceId`), in seq order: seqs run 1, 2, 3… with no gap (`missing_seq`),
 * each prevHash is the previous entry's hash (`broken_link`), and each hash is
 * SHA-256(prevHash ‖ canonical entry) (`hash_mismatch`). Account-level entries
 * (checked when no workspace is given) must have seq 0, no link, and their
 * standalone hash. Stops at the first problem.
 *
 * What it cannot see: entries cut off the end of a chain (the shortened chain
 * is still valid). Compare the head it reports with one anchored elsewhere.
 */
export async function verifyAuditChain(
  db: Database,
  workspaceId?: string,
  options: VerifyOptions = {},
): Promise<AuditVerifyResult> {
  const batchSize = options.batchSize ?? 1000;
  let checked = 0;

  const workspaceIds =
    workspaceId !== undefined
      ? [workspaceId]
      : (
          await db.auditEvent.findMany({
            where: { workspaceId: { not: null } },
            distinct: ['workspaceId'],
            select: { workspaceId: true },
            orderBy: { workspaceId: 'asc' },
          })
        ).map((row) => row.workspaceId as string);

  for (const wid of workspaceIds) {
    let expectedSeq = 1n;
    let prev: Uint8Array | null = null;
    let count = 0;
    for (;;) {
      const rows: Row[] = await db.auditEvent.findMany({
        // The first batch has no lower bound, so a stray seq below 1 shows up as a gap.
        where: { workspaceId: wid, ...(prev ? { seq: { gte: expectedSeq } } : {}) },
        orderBy: { seq: 'asc' },
        take: batchSize,
        select,
      });
      for (const row of rows) {
        const fail = (problem: AuditProblem) =>
          ({ ok: false, workspaceId: wid, seq: Number(row.seq), problem, entryId: row.id }) as const;
        if (row.seq !== expectedSeq) {
          return { ok: false, workspaceId: wid, seq: Number(expectedSeq), problem: 'missing_seq' };
        }
        if (!same(row.prevHash, prev)) return fail('broken_link');
        if (!same(hashAuditEntry(row.prevHash, row), row.hash)) return fail('hash_mismatch');
        prev = row.hash;
        expectedSeq += 1n;
        count += 1;
      }
      if (rows.length < batchSize) break;
    }
    checked += count;
    if (prev) {
      options.onWorkspace?.({
        workspaceId: wid,
        seq: Number(expectedSeq - 1n),
        hash: Buffer.from(prev).toString('hex'),
        checked: count,
      });
    }
  }

  if (workspaceId === undefined) {
    let after: { createdAt: Date; id: string } | undefined;
    for (;;) {
      const rows: Row[] = await db.auditEvent.findMany({
        where: {
          workspaceId: null,
          ...(after
            ? {
                OR: [
                  { createdAt: { gt: after.createdAt } },
                  { createdAt: after.createdAt, id: { gt: after.id } },
                ],
              }
            : {}),
        },
        orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
        take: batchSize,
        select,
      });
      for (const row of rows) {
        const fail = (problem: AuditProblem) =>
          ({ ok: false, workspaceId: null, seq: Number(row.seq), problem, entryId: row.id }) as const;
        if (row.seq !== 0n || row.prevHash !== null) return fail('broken_link');
        if (!same(hashAuditEntry(null, row), row.hash)) return fail('hash_mismatch');
        checked += 1;
      }
      const last = rows.at(-1);
      if (rows.length < batchSize || !last) break;
      after = { createdAt: last.createdAt, id: last.id };
    }
  }

  return { ok: true, checked };
}
