import { ApiError } from '@multiclaw/protocol';
import type { Transaction } from '../../db/client.js';
import { type Action, allows, type Role } from './permissions.js';

export type LockedMember = { userId: string; role: Role };

/** A workspace locked for the rest of the transaction, with its members as they are under the lock. */
export type LockedWorkspace = { id: string; members: LockedMember[] };

/** A change to one member: a new role, or `null` for leaving the workspace. */
export type MemberChange = { userId: string; role: Role | null };

/**
 * The one lock behind the last-owner rule. Every change that can take an
 * owner away (demote, remove, leave, transfer, account deletion) and every
 * change that acts on an owner's word (accepting their invitation) first
 * locks the workspace row, then reads the members. Two such transactions on
 * one workspace therefore run one after the other, and each counts the
 * owners the other left.
 *
 * Rows are locked in id order, so transactions that lock overlapping sets
 * (account deletion locks every workspace of the account) cannot deadlock.
 * `FOR NO KEY UPDATE` rather than `FOR UPDATE`: it excludes the other
 * guards but not inserts that merely reference the workspace (audit entries,
 * agents), which could otherwise deadlock against the audit chain's lock.
 * Workspaces that do not exist are simply absent from the result.
 */
export async function lockWorkspaces(
  tx: Transaction,
  workspaceIds: readonly string[],
): Promise<Map<string, LockedWorkspace>> {
  const ids = [...new Set(workspaceIds)];
  if (ids.length === 0) return new Map();
  const locked = await tx.$queryRaw<Array<{ id: string }>>`
    SELECT id::text FROM workspaces WHERE id = ANY(${ids}::uuid[]) ORDER BY id FOR NO KEY UPDATE`;
  const rows = await tx.$queryRaw<Array<{ workspace_id: string; user_id: string; role: Role }>>`
    SELECT workspace_id::text, user_id::text, role::text FROM memberships
    WHERE workspace_id = ANY(${locked.map((w) => w.id)}::uuid[])`;
  const result = new Map<string, LockedWorkspace>(locked.map(({ id }) => [id, { id, members: [] }]));
  for (const row of rows) {
    result.get(row.workspace_id)?.members.push({ userId: row.user_id, role: row.role });
  }
  return result;
}

/** One workspace under the guard's lock; a missing workspace is a 404, like the access hook's. */
export async function lockWorkspace(tx: Transaction, workspaceId: string): Promise<LockedWorkspace> {
  const locked = (await lockWorkspaces(tx, [workspaceId])).values().next().value;
  if (!locked) throw new ApiError('NOT_FOUND', 'No such workspace');
  return locked;
}

export function roleIn(workspace: LockedWorkspace, userId: string): Role | undefined {
  return workspace.members.find((m) => m.userId === userId)?.role;
}

/**
 * The access hook checked the caller's role before the transaction began; a
 * concurrent change may have taken it away since. Under the lock, check again.
 */
export function assertAllowed(workspace: LockedWorkspace, userId: string, action: Action): void {
  const role = roleIn(workspace, userId);
  if (!role) throw new ApiError('NOT_FOUND', 'No such workspace');
  if (!allows(role, action)) {
    throw new ApiError('FORBIDDEN', 'Your role in this workspace does not allow this');
  }
}

/** How many owners the workspace would have after `changes`, and how many members. */
export function after(workspace: LockedWorkspace, changes: readonly MemberChange[]) {
  const next = new Map(workspace.members.map((m) => [m.userId, m.role as Role | null]));
  for (const change of changes) if (next.has(change.userId)) next.set(change.userId, change.role);
  const roles = [...next.values()].filter((role): role is Role => role !== null);
  return { members: roles.length, owners: roles.filter((role) => role === 'owner').length };
}

/** The rule itself: a workspace that still exists after the changes keeps an owner. */
export function assertKeepsAnOwner(workspace: LockedWorkspace, changes: readonly MemberChange[]): void {
  if (after(workspace, changes).owners === 0) {
    throw new ApiError(
      'WORKSPACE_LAST_OWNER',
      'A workspace always keeps at least one owner: make someone else an owner first',
    );
  }
}
