import { createHash, randomBytes } from 'node:crypto';
import { ApiError } from '@multiclaw/protocol';
import type { Database } from '../../db/client.js';
import { type EventPublisher, realtime } from '../../events/publisher.js';
import type { Mailer } from '../../mail/mailer.js';
import { invitationMail } from '../../mail/messages.js';
import type { Actor } from '../../plugins/actor.js';
import { type AuditEntry, type AuditTx, actorEntry } from '../audit/recorder.js';
import { lockWorkspaces, roleIn } from './owner-guard.js';
import { allows, type Role } from './permissions.js';

export const INVITATION_TTL_SECONDS = 7 * 24 * 3600;

const hashToken = (token: string) => new Uint8Array(createHash('sha256').update(token).digest());
const invalid = () => new ApiError('INVITATION_INVALID', 'This invitation is not valid');

/**
 * Invitations: a single-use secret token per invited email, stored hashed,
 * valid for seven days. Unknown, used, revoked and expired tokens all answer
 * the same way.
 */
export function createInvitationService(deps: {
  db: Database;
  audit: { record(entry: AuditEntry, tx: AuditTx): Promise<void> };
  now: () => Date;
  /** The invitation is mailed to the invited address, with a token of its own. */
  mailer: Mailer;
  publicUrl: string;
  /** Announces a new member to the workspace's desktops, and a changed invitation to its owners'. */
  events?: EventPublisher;
}) {
  const { db, audit, now, mailer, publicUrl, events } = deps;

  return {
    async create(actor: Actor, workspaceId: string, email: string, role: Role) {
      const alreadyMember = await db.membership.findFirst({
        where: { workspaceId, user: { email } },
        select: { userId: true },
      });
      if (alreadyMember)
        throw new ApiError('MEMBER_ALREADY', 'That person is already a member of this workspace');
      const token = randomBytes(32).toString('base64url');
      // A second token for the mail only: the owner sees `token`, so accepting
      // with it proves nothing about the mailbox; accepting with this one does.
      const mailToken = randomBytes(32).toString('base64url');
      const at = now();
      // The audit entry is written in the invitation's transaction: no entry, no invitation.
      const invitation = await db.$transaction(async (tx) => {
        const created = await tx.invitation.create({
          data: {
            workspaceId,
            email,
            role,
            tokenHash: hashToken(token),
            mailTokenHash: hashToken(mailToken),
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
            { type: 'invitation', id: created.id },
            { email, role },
          ),
          tx,
        );
        return created;
      });
      await events?.publish(realtime('invitation.changed', workspaceId, { invitationId: invitation.id }, at));
      const workspace = await db.workspace.findUnique({ where: { id: workspaceId }, select: { name: true } });
      mailer.send(
        invitationMail({
          to: email,
          token: mailToken,
          publicUrl,
          workspaceName: workspace?.name ?? '',
          role,
          expiresAt: invitation.expiresAt,
        }),
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
      const at = now();
      await db.$transaction(async (tx) => {
        const { count } = await tx.invitation.updateMany({
          where: { id: invitationId, workspaceId, acceptedAt: null, revokedAt: null },
          data: { revokedAt: at },
        });
        if (count === 0) throw new ApiError('NOT_FOUND', 'No such invitation');
        await audit.record(
          actorEntry(actor, workspaceId, 'invitation.revoked', { type: 'invitation', id: invitationId }),
          tx,
        );
      });
      await events?.publish(realtime('invitation.changed', workspaceId, { invitationId }, at));
    },

    /**
     * Accepting needs the signed-in user's email to be the invited one. Single
     * use, atomically. An invitation speaks with its inviter's authority, so it
     * holds only while the inviter may still invite (checked under the owner
     * guard's lock, so a concurrent demotion cannot slip between).
     */
    async accept(actor: Actor, token: string) {
      const at = now();
      const membership = await db.$transaction(async (tx) => {
        // Lock order, as everywhere: the accepting user (account deletion locks it
        // first), then the workspace, then the invitation.
        const [user] = await tx.$queryRaw<Array<{ email: string }>>`
          SELECT email FROM users WHERE id = ${actor.userId}::uuid FOR KEY SHARE`;
        // Deleted while this request was on its way: its access token outlived the account by moments.
        if (!user) throw new ApiError('UNAUTHENTICATED', 'The account no longer exists');
        const [addressed] = await tx.$queryRaw<Array<{ workspace_id: string }>>`
          SELECT workspace_id::text FROM invitations
          WHERE token_hash = ${hashToken(token)} OR mail_token_hash = ${hashToken(token)}`;
        if (!addressed) throw invalid();
        const workspace = (await lockWorkspaces(tx, [addressed.workspace_id])).get(addressed.workspace_id);
        if (!workspace) throw invalid();
        const [invitation] = await tx.$queryRaw<
          Array<{
            id: string;
            workspace_id: string;
            email: string;
            role: Role;
            invited_by_id: string | null;
            by_mail: boolean;
          }>
        >`
          SELECT id, workspace_id, email, role, invited_by_id::text,
                 mail_token_hash IS NOT DISTINCT FROM ${hashToken(token)} AS by_mail
          FROM invitations
          WHERE (token_hash = ${hashToken(token)} OR mail_token_hash = ${hashToken(token)}) AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > ${at}
          FOR UPDATE`;
        if (!invitation) throw invalid();
        if (invitation.email !== user.email) {
          throw new ApiError(
            'INVITATION_EMAIL_MISMATCH',
            'This invitation was sent to another email address',
          );
        }
        const inviterRole = invitation.invited_by_id && roleIn(workspace, invitation.invited_by_id);
        if (!inviterRole || !allows(inviterRole, 'invitations.create')) throw invalid();
        if (invitation.role === 'owner' && inviterRole !== 'owner') throw invalid();
        if (roleIn(workspace, actor.userId))
          throw new ApiError('MEMBER_ALREADY', 'You are already a member of this workspace');
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
        if (invitation.by_mail) {
          // The mailed token reached the accepting user through the invited mailbox.
          await tx.user.updateMany({
            where: { id: actor.userId, emailVerifiedAt: null },
            data: { emailVerifiedAt: at },
          });
        }
        await audit.record(
          actorEntry(
            actor,
            invitation.workspace_id,
            'invitation.accepted',
            { type: 'invitation', id: invitation.id },
            { role: invitation.role, via: invitation.by_mail ? 'mailed_token' : 'owner_token' },
          ),
          tx,
        );
        return { workspaceId: invitation.workspace_id, invitationId: invitation.id, role: invitation.role };
      });
      await events?.publish(
        realtime('member.changed', membership.workspaceId, { memberId: actor.userId }, at),
        // No longer pending.
        realtime('invitation.changed', membership.workspaceId, { invitationId: membership.invitationId }, at),
      );
      return membership;
    },
  };
}

export type InvitationService = ReturnType<typeof createInvitationService>;
