import { z } from 'zod';
import { EmailInput } from './auth.js';
import { Id, Timestamp } from './ids.js';

/** Exactly two roles; each person has one per workspace. */
export const WorkspaceRole = z.enum(['owner', 'member']);
export type WorkspaceRole = z.infer<typeof WorkspaceRole>;

export const WorkspaceName = z.string().trim().min(1).max(100);
export type WorkspaceName = z.infer<typeof WorkspaceName>;

export const Workspace = z.object({ id: Id, name: z.string(), role: WorkspaceRole, createdAt: Timestamp });
export type Workspace = z.infer<typeof Workspace>;

export const CreateWorkspaceRequest = z.object({ name: WorkspaceName });
export type CreateWorkspaceRequest = z.infer<typeof CreateWorkspaceRequest>;

export const UpdateWorkspaceRequest = z.object({ name: WorkspaceName });
export type UpdateWorkspaceRequest = z.infer<typeof UpdateWorkspaceRequest>;

export const WorkspaceParams = z.object({ wid: Id });
export type WorkspaceParams = z.infer<typeof WorkspaceParams>;

export const Member = z.object({
  userId: Id,
  email: z.string(),
  name: z.string().nullable(),
  role: WorkspaceRole,
  joinedAt: Timestamp,
});
export type Member = z.infer<typeof Member>;

export const MemberParams = z.object({ wid: Id, uid: Id });
export type MemberParams = z.infer<typeof MemberParams>;

/** Changing a role; `owner` on another member with `transfer: true` hands ownership over and makes the caller a member. */
export const UpdateMemberRequest = z.object({ role: WorkspaceRole, transfer: z.boolean().optional() });
export type UpdateMemberRequest = z.infer<typeof UpdateMemberRequest>;

export const Invitation = z.object({
  id: Id,
  email: z.string(),
  role: WorkspaceRole,
  createdAt: Timestamp,
  expiresAt: Timestamp,
});
export type Invitation = z.infer<typeof Invitation>;

export const CreateInvitationRequest = z.object({ email: EmailInput, role: WorkspaceRole });
export type CreateInvitationRequest = z.infer<typeof CreateInvitationRequest>;

/** The token is shown once, for the owner to pass on; only its hash is stored. */
export const CreateInvitationResponse = z.object({ id: Id, token: z.string(), expiresAt: Timestamp });
export type CreateInvitationResponse = z.infer<typeof CreateInvitationResponse>;

export const InvitationParams = z.object({ wid: Id, iid: Id });
export type InvitationParams = z.infer<typeof InvitationParams>;

export const AcceptInvitationRequest = z.object({ token: z.string().min(1).max(256) });
export type AcceptInvitationRequest = z.infer<typeof AcceptInvitationRequest>;
