import { ApiError } from '@multiclaw/protocol';
import type { Database, Transaction } from '../../db/client.js';
import type { Actor } from '../../plugins/actor.js';
import { type AuditRecorder, actorEntry } from '../audit/recorder.js';
import type { Role } from './permissions.js';

const lastOwner = () =>
  new ApiError(
    'WORKSPACE_LAST_OWNER',
    'A workspace always keeps at least one owner: make someone else an owner first',
  );
const noSuchMember = () => new ApiError('NOT_FOUND', 'No such member');

/**
 * Locks every membership row of the workspace for the rest of the
 * transaction, so two concurrent demotions cannot both see "another owner
 * remains" and leave none.
 */
async function lockMembers(tx: Transaction, workspaceId: string) {
  return tx.$queryRaw<Array<{ user_id: string; role: Role }>>`
    SELECT user_id, role FROM memberships WHERE workspace_id = ${workspaceId}::uuid FOR UPDATE`;
}

/** Workspaces and their members. The access hook has already checked the caller's role. */
export function createWorkspaceService(deps: { db: Database; audit: AuditRecorder; now: () => Date }) {
  const { db, audit, now } = deps;

  const record = (
    actor: Actor,
    workspaceId: string,
    action: string,
    target?: { type: string; id: string },
    metadata?: Record<string, string>,
  ) => audit.record(actorEntry(actor, workspaceId, action, target, metadata));

  return {
    async create(actor: Actor, name: string) {
      const workspace = await db.workspace.create({
        data: { name, createdAt: now(), memberships: { create: { userId: actor.userId, role: 'owner' } } },
        select: { id: true, name: true, createdAt: true },
      });
      await record(
        actor,
        workspace.id,
        'workspace.created',
        { type: 'workspace', id: workspace.id },
        { name },
      );
      return { ...workspace, role: 'owner' as const };
    },

    async listMine(userId: string) {
      const rows = await db.membership.findMany({
        where: { userId },
        orderBy: { createdAt: 'asc' },
        select: { role: true, workspace: { select: { id: true, name: true, createdAt: true } } },
      });
      return rows.map(({ role, workspace }) => ({ ...workspace, role }));
    },

    async read(workspaceId: string, role: Role) {
      const workspace = await db.workspace.findUniqueOrThrow({
        where: { id: workspaceId },
        select: { id: true, name: true, createdAt: true },
      });
      return { ...workspace, role };
    },

    async rename(actor: Actor, workspaceId: string, role: Role, name: string) {
      const workspace = await db.workspace.update({
        where: { id: workspaceId },
        data: { name },
        select: { id: true, name: true, createdAt: true },
      });
      await record(actor, workspaceId, 'workspace.renamed', { type: 'workspace', id: workspaceId }, { name });
      return { ...workspace, role };
    },

    /** Deletes the workspace; the database cascades to everything in it. */
    async remove(actor: Actor, workspaceId: string) {
      await db.workspace.delete({ where: { id: workspaceId } });
      await record(actor, workspaceId, 'workspace.deleted', { type: 'workspace', id: workspaceId });
    },

    async members(workspaceId: string) {
      const rows = await db.membership.findMany({
        where: { workspaceId },
        orderBy: { createdAt: 'asc' },
        select: { role: true, createdAt: true, user: { select: { id: true, email: true, name: true } } },
      });
      return rows.map(({ role, createdAt, user }) => ({
        userId: user.id,
        email: user.email,
        name: user.name,
        role,
        joinedAt: createdAt,
      }));
    },

    /**
     * Changes a member's role. With `transfer`, the target becomes an owner and
     * the caller a member, atomically. Demoting the last owner is refused.
     */
    async changeRole(actor: Actor, workspaceId: string, targetUserId: string, role: Role, transfer: boolean) {
      await db.$transaction(async (tx) => {
        const members = await lockMembers(tx, workspaceId);
        const target = members.find((m) => m.user_id === targetUserId);
        if (!target) throw noSuchMember();
        if (transfer) {
          if (role !== 'owner' || targetUserId === actor.userId) {
            throw new ApiError('VALIDATION_FAILED', 'A transfer makes another member the owner', {
              issues: [{ path: 'body.transfer', message: 'transfer needs role "owner" and another member' }],
            });
          }
          await tx.membership.update({
            where: { workspaceId_userId: { workspaceId, userId: targetUserId } },
            data: { role: 'owner' },
          });
          await tx.membership.update({
            where: { workspaceId_userId: { workspaceId, userId: actor.userId } },
            data: { role: 'member' },
          });
          return;
        }
        const owners = members.filter((m) => m.role === 'owner');
        if (target.role === 'owner' && role !== 'owner' && owners.length === 1) throw lastOwner();
        await tx.membership.update({
          where: { workspaceId_userId: { workspaceId, userId: targetUserId } },
          data: { role },
        });
      });
      if (transfer) {
        await record(
          actor,
          workspaceId,
          'ownership.transferred',
          { type: 'user', id: targetUserId },
          { from: actor.userId },
        );
      } else {
        await record(actor, workspaceId, 'member.role_changed', { type: 'user', id: targetUserId }, { role });
      }
    },

    /** Removes a member, or the caller leaves. The last owner can do neither. */
    async removeMember(actor: Actor, workspaceId: string, targetUserId: string) {
      await db.$transaction(async (tx) => {
        const members = await lockMembers(tx, workspaceId);
        const target = members.find((m) => m.user_id === targetUserId);
        if (!target) throw noSuchMember();
        if (target.role === 'owner' && members.filter((m) => m.role === 'owner').length === 1)
          throw lastOwner();
        await tx.membership.delete({ where: { workspaceId_userId: { workspaceId, userId: targetUserId } } });
      });
      const left = targetUserId === actor.userId;
      await record(actor, workspaceId, left ? 'member.left' : 'member.removed', {
        type: 'user',
        id: targetUserId,
      });
    },
  };
}

export type WorkspaceService = ReturnType<typeof createWorkspaceService>;
