import { ApiError } from '@multiclaw/protocol';
import type { Database, Transaction } from '../../db/client.js';
import type { BusMessage } from '../../events/event-bus.js';
import { type EventPublisher, realtime } from '../../events/publisher.js';
import type { Actor } from '../../plugins/actor.js';
import { type AuditEntry, type AuditTx, actorEntry } from '../audit/recorder.js';
import { assertAllowed, assertKeepsAnOwner, lockWorkspace, roleIn } from './owner-guard.js';
import type { Role } from './permissions.js';

const noSuchMember = () => new ApiError('NOT_FOUND', 'No such member');

/** What this service needs of the recorder: a write inside the change's own transaction. */
type AuditInTx = { record(entry: AuditEntry, tx: AuditTx): Promise<void> };

/**
 * Workspaces and their members. The access hook has already checked the
 * caller's role; membership changes check it again under the owner guard's
 * lock (owner-guard.ts). Each change writes its audit entry in its own
 * transaction: if the entry cannot be written, the change does not happen.
 */
export function createWorkspaceService(deps: {
  db: Database;
  audit: AuditInTx;
  now: () => Date;
  /**
   * Announces membership changes once committed: a member's role to the
   * workspace's desktops, and an ended membership to every instance, which
   * stops that person's sockets and gateways hearing the workspace at once.
   */
  events?: EventPublisher;
}) {
  const { db, audit, now, events } = deps;
  const memberChanged = (workspaceId: string, memberId: string): BusMessage =>
    realtime('member.changed', workspaceId, { memberId }, now());
  const membershipEnded = (workspaceId: string, userId: string): BusMessage => ({
    type: 'membership.ended',
    workspaceId,
    userId,
  });

  const record = (
    tx: Transaction,
    actor: Actor,
    workspaceId: string,
    action: string,
    target?: { type: string; id: string },
    metadata?: Record<string, string>,
  ) => audit.record(actorEntry(actor, workspaceId, action, target, metadata), tx);

  return {
    async create(actor: Actor, name: string) {
      const workspace = await db.$transaction(async (tx) => {
        const created = await tx.workspace.create({
          data: { name, createdAt: now(), memberships: { create: { userId: actor.userId, role: 'owner' } } },
          select: { id: true, name: true, createdAt: true },
        });
        await record(
          tx,
          actor,
          created.id,
          'workspace.created',
          { type: 'workspace', id: created.id },
          { name },
        );
        return created;
      });
      // The creator's open sockets start hearing the new workspace.
      await events?.publish(memberChanged(workspace.id, actor.userId));
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
      const workspace = await db.$transaction(async (tx) => {
        const renamed = await tx.workspace.update({
          where: { id: workspaceId },
          data: { name },
          select: { id: true, name: true, createdAt: true },
        });
        await record(
          tx,
          actor,
          workspaceId,
          'workspace.renamed',
          { type: 'workspace', id: workspaceId },
          { name },
        );
        return renamed;
      });
      return { ...workspace, role };
    },

    /** Deletes the workspace; the database cascades to everything in it. */
    async remove(actor: Actor, workspaceId: string) {
      const members = await db.$transaction(async (tx) => {
        const gone = await tx.membership.findMany({ where: { workspaceId }, select: { userId: true } });
        await tx.workspace.delete({ where: { id: workspaceId } });
        await record(tx, actor, workspaceId, 'workspace.deleted', { type: 'workspace', id: workspaceId });
        return gone;
      });
      await events?.publish(...members.map(({ userId }) => membershipEnded(workspaceId, userId)));
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
      const changed = await db.$transaction(async (tx) => {
        const workspace = await lockWorkspace(tx, workspaceId);
        assertAllowed(workspace, actor.userId, 'members.update');
        if (!roleIn(workspace, targetUserId)) throw noSuchMember();
        if (transfer) {
          if (role !== 'owner' || targetUserId === actor.userId) {
            throw new ApiError('VALIDATION_FAILED', 'A transfer makes another member the owner', {
              issues: [{ path: 'body.transfer', message: 'transfer needs role "owner" and another member' }],
            });
          }
          await setRole(tx, workspaceId, targetUserId, 'owner');
          await setRole(tx, workspaceId, actor.userId, 'member');
          await record(
            tx,
            actor,
            workspaceId,
            'ownership.transferred',
            { type: 'user', id: targetUserId },
            { from: actor.userId },
          );
          return [targetUserId, actor.userId];
        }
        assertKeepsAnOwner(workspace, [{ userId: targetUserId, role }]);
        await setRole(tx, workspaceId, targetUserId, role);
        await record(
          tx,
          actor,
          workspaceId,
          'member.role_changed',
          { type: 'user', id: targetUserId },
          { role },
        );
        return [targetUserId];
      });
      await events?.publish(...changed.map((userId) => memberChanged(workspaceId, userId)));
    },

    /** Removes a member, or the caller leaves. The last owner can do neither. */
    async removeMember(actor: Actor, workspaceId: string, targetUserId: string) {
      const left = targetUserId === actor.userId;
      await db.$transaction(async (tx) => {
        const workspace = await lockWorkspace(tx, workspaceId);
        assertAllowed(workspace, actor.userId, left ? 'members.leave' : 'members.remove');
        if (!roleIn(workspace, targetUserId)) throw noSuchMember();
        assertKeepsAnOwner(workspace, [{ userId: targetUserId, role: null }]);
        await tx.membership.delete({ where: { workspaceId_userId: { workspaceId, userId: targetUserId } } });
        await record(tx, actor, workspaceId, left ? 'member.left' : 'member.removed', {
          type: 'user',
          id: targetUserId,
        });
      });
      // Ended first: the departed member's sockets stop before the others hear of it.
      await events?.publish(membershipEnded(workspaceId, targetUserId));
      await events?.publish(memberChanged(workspaceId, targetUserId));
    },
  };
}

function setRole(tx: Transaction, workspaceId: string, userId: string, role: Role) {
  return tx.membership.update({ where: { workspaceId_userId: { workspaceId, userId } }, data: { role } });
}

export type WorkspaceService = ReturnType<typeof createWorkspaceService>;
