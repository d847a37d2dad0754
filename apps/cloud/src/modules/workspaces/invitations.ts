import { createHash, randomBytes } from 'node:crypto';
import { ApiError } from '@multiclaw/protocol';
import type { Database } from '../../db/client.js';
import type { Actor } from '../../plugins/actor.js';
import { type AuditRecorder, actorEntry } from '../audit/recorder.js';
import type { Role } from './permissions.js';

export const INVITATION_TTL_SECONDS = 7 * 24 * 3600;

const hashToken = (token: string) => new Uint8Array(createHash('sha256').update(token).digest());
const invalid = () => new ApiError('INVITATION_INVALID', 'This invitation is not valid');

/**
 * Invitations: a single-use secret token per invited email, stored hashed,
 * valid for seven days. Unknown, used, revoked and expired tokens all answer
 * the same way.
 */
export function createInvitationService(deps: { db: Database; audit: AuditRecorder; now: () => Date }) {
  const { db, audit, now } = deps;

  return {
    async create(actor: Actor, workspaceId: string, email: string, role: Role) {
      const alreadyMember = await db.membership.findFirst({
        where: { workspaceId, user: { email } },
        select: { userId: true },
      });
      if (alreadyMember)
        throw new ApiError('MEMBER_ALREADY', 'That person is already a member of this workspace');
      const token = randomBytes(32).toString('base64url');
      const at = now();
      const invitation = await db.invitation.create({
        data: {
          workspaceId,
          email,
          role,
          tokenHash: hashToken(token),
          invitedById: actor.userId,
          createdAt: at,
          expiresAt: new Date(at.getTime() + INVITATION_TTL_SECONDS * 1000),
        },
        select: { id: true, expiresAt: true },
      });
      await audit.record(
        actorEntry(
          actor,
          workspaceId,
          'invitation.created',
          { type: 'invitation', id: invitation.id },
          { email, role },
        ),
      );
      return { id: invitation.id, token, expiresAt: invitation.expiresAt };
    },

    /** Pending invitations only: not accepted, not revoked, not expired. */
    async listPending(workspaceId: string) {
      return db.invitation.findMany({
        where: { workspaceId, acceptedAt: null, revokedAt: null, expiresAt: { gt: now() } },
        orderBy: { createdAt: 'desc' },
        select: { id: true, email: true, role: true, createdAt: true, expiresAt: true },
      });
    },

    async revoke(actor: Actor, workspaceId: string, invitationId: string) {
      const { count } = await db.invitation.updateMany({
        where: { id: invitationId, workspaceId, acceptedAt: null, revokedAt: null },
        data: { revokedAt: now() },
      });
      if (count === 0) throw new ApiError('NOT_FOUND', 'No such invitation');
      await audit.record(
        actorEntry(actor, workspaceId, 'invitation.revoked', { type: 'invitation', id: invitationId }),
      );
    },

    /** Accepting needs the signed-in user's email to be the invited one. Single use, atomically. */
    async accept(actor: Actor, token: string) {
      const at = now();
      const user = await db.user.findUniqueOrThrow({ where: { id: actor.userId }, select: { email: true } });
      const membership = await db.$transaction(async (tx) => {
        const [invitation] = await tx.$queryRaw<
          Array<{ id: string; workspace_id: string; email: string; role: Role }>
        >`
          SELECT id, workspace_id, email, role FROM invitations
          WHERE token_hash = ${hashToken(token)} AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > ${at}
          FOR UPDATE`;
        if (!invitation) throw invalid();
        if (invitation.email !== user.email) {
          throw new ApiError(
            'INVITATION_EMAIL_MISMATCH',
            'This invitation was sent to another email address',
          );
        }
        const existing = await tx.membership.findUnique({
          where: { workspaceId_userId: { workspaceId: invitation.workspace_id, userId: actor.userId } },
        });
        if (existing) throw new ApiError('MEMBER_ALREADY', 'You are already a member of this workspace');
        await tx.invitation.update({
          where: { id: invitation.id },
          data: { acceptedAt: at, acceptedById: actor.userId },
        });
        await tx.membership.create({
          data: {
            workspaceId: invitation.workspace_id,
            userId: actor.userId,
            role: invitation.role,
            createdAt: at,
          },
        });
        return { workspaceId: invitation.workspace_id, invitationId: invitation.id, role: invitation.role };
      });
      await audit.record(
        actorEntry(
          actor,
          membership.workspaceId,
          'invitation.accepted',
          { type: 'invitation', id: membership.invitationId },
          { role: membership.role },
        ),
      );
      return membership;
    },
  };
}

export type InvitationService = ReturnType<typeof createInvitationService>;
