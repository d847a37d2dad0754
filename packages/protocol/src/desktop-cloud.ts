import { z } from 'zod';
import { Agent, CreateAgentRequest, UpdateAgentRequest } from './agents.js';
import { AuditActionFilter, AuditLogEntry } from './audit.js';
import {
  ChangePasswordRequest,
  EmailedToken,
  PasswordInput,
  RegisterRequest,
  SessionInfo,
  SignInEmail,
  User,
} from './auth.js';
import { Gateway } from './gateways.js';
import { Id, Timestamp } from './ids.js';
import { OidcProviderInfo, OidcProviderName } from './oidc.js';
import { Cursor, MAX_PAGE_SIZE, Page } from './pagination.js';
import { RealtimeEvent } from './realtime.js';
import { ConversationSummary, TranscriptMessage } from './transcripts.js';
import { CreateSecretRequest, RevealSecretResponse, Secret, UpdateSecretRequest } from './vault.js';
import {
  CreateInvitationRequest,
  CreateInvitationResponse,
  Invitation,
  Member,
  Workspace,
  WorkspaceName,
  WorkspaceRole,
} from './workspaces.js';

/**
 * The desktop's cloud commands (issue 16, docs/desktop.md "Cloud session"):
 * the host holds the cloud session (the access token in memory, the refresh
 * token in a 0600 file) and calls the cloud for the UI. No input or output
 * here carries a token: the UI never holds one. The cloud enforces roles; the
 * host passes its 403/404 through in the error envelope.
 */

/** Where the host stands with the cloud: never a token, only who is signed in where. */
export const DesktopAccountStatus = z.strictObject({
  state: z.enum(['signed-out', 'signed-in']),
  /** The cloud in settings (null: none chosen). */
  cloudUrl: z.string().nullable(),
  user: User.optional(),
});
export type DesktopAccountStatus = z.infer<typeof DesktopAccountStatus>;

const InWorkspace = { workspaceId: Id };
const Paging = {
  cursor: Cursor.optional(),
  limit: z.number().int().min(1).max(MAX_PAGE_SIZE).optional(),
};
const Done = z.strictObject({ ok: z.literal(true) });

export const DesktopCloudCommands = {
  'account.status': { input: z.strictObject({}), output: DesktopAccountStatus },
  /** Email and password at the cloud in settings; a lockout or throttle is the cloud's error, in plain words. */
  'account.signIn': {
    input: z.strictObject({ email: SignInEmail, password: PasswordInput }),
    output: DesktopAccountStatus,
  },
  /** Ends the session at the cloud (when reachable) and forgets the refresh token. */
  'account.signOut': { input: z.strictObject({}), output: DesktopAccountStatus },
  /**
   * Single sign-on through the system browser: the host listens once on
   * 127.0.0.1 for the redirect, opens `url` (shown too, for opening by hand),
   * and says `account.changed` on the event stream when it completes.
   */
  'account.sso.start': {
    input: z.strictObject({ provider: OidcProviderName }),
    output: z.strictObject({ url: z.string(), opened: z.boolean() }),
  },

  /** The single sign-on providers the chosen cloud offers (none: the cloud has no OIDC configured). */
  'account.sso.providers': { input: z.strictObject({}), output: Page(OidcProviderInfo) },
  /** Creates an account at the cloud in settings and signs in; the cloud mails a code to verify the address. */
  'account.signUp': { input: z.strictObject(RegisterRequest.shape), output: DesktopAccountStatus },
  /** The code from the verification mail. */
  'account.verifyEmail': { input: z.strictObject({ token: EmailedToken }), output: DesktopAccountStatus },
  'account.resendVerification': { input: z.strictObject({}), output: Done },
  /** Always the same answer, whether or not the address has an account (the cloud's rule). */
  'account.forgotPassword': { input: z.strictObject({ email: SignInEmail }), output: Done },
  /** The code from the reset mail and the new password; every session of the account ends. */
  'account.resetPassword': {
    input: z.strictObject({ token: EmailedToken, password: PasswordInput }),
    output: Done,
  },
  'account.profile': { input: z.strictObject({}), output: z.strictObject({ user: User }) },
  /** The cloud ends the account's other sessions; this one goes on. */
  'account.changePassword': { input: z.strictObject(ChangePasswordRequest.shape), output: Done },
  'account.sessions.list': { input: z.strictObject({}), output: z.object({ items: z.array(SessionInfo) }) },
  'account.sessions.revoke': { input: z.strictObject({ sessionId: Id }), output: Done },
  /** "Sign out everywhere else": every session but this one. */
  'account.sessions.revokeOthers': {
    input: z.strictObject({}),
    output: z.strictObject({ revoked: z.number().int().nonnegative() }),
  },
  /** The cloud's export of everything about the account, saved by the host as a 0600 JSON file; the answer says where. */
  'account.export': {
    input: z.strictObject({}),
    output: z.strictObject({ path: z.string(), bytes: z.number().int().nonnegative() }),
  },
  /** Deletes the account at the cloud (re-authenticated by the password) and signs out. */
  'account.delete': {
    input: z.strictObject({ password: PasswordInput.optional() }),
    output: DesktopAccountStatus,
  },

  'workspaces.list': { input: z.strictObject({}), output: Page(Workspace) },
  'workspaces.create': { input: z.strictObject({ name: WorkspaceName }), output: Workspace },
  'workspaces.rename': { input: z.strictObject({ ...InWorkspace, name: WorkspaceName }), output: Workspace },
  'workspaces.delete': { input: z.strictObject(InWorkspace), output: Done },

  'members.list': { input: z.strictObject(InWorkspace), output: Page(Member) },
  'members.changeRole': {
    input: z.strictObject({ ...InWorkspace, userId: Id, role: WorkspaceRole }),
    output: Done,
  },
  'members.remove': { input: z.strictObject({ ...InWorkspace, userId: Id }), output: Done },
  /** Makes `userId` the owner and the caller a member. */
  'members.transfer': { input: z.strictObject({ ...InWorkspace, userId: Id }), output: Done },

  /** The invitation's token is in the answer once, for the owner to pass on. */
  'invitations.create': {
    input: z.strictObject({ ...InWorkspace, ...CreateInvitationRequest.shape }),
    output: CreateInvitationResponse,
  },
  'invitations.list': { input: z.strictObject(InWorkspace), output: Page(Invitation) },
  'invitations.revoke': { input: z.strictObject({ ...InWorkspace, invitationId: Id }), output: Done },
  'invitations.accept': {
    input: z.strictObject({ token: z.string().min(1).max(256) }),
    output: z.object({ workspaceId: Id, role: WorkspaceRole }),
  },

  'workspaceAgents.list': { input: z.strictObject({ ...InWorkspace, ...Paging }), output: Page(Agent) },
  'workspaceAgents.create': {
    input: z.strictObject({ ...InWorkspace, agent: CreateAgentRequest }),
    output: Agent,
  },
  'workspaceAgents.update': {
    input: z.strictObject({ ...InWorkspace, agentId: Id, changes: UpdateAgentRequest }),
    output: Agent,
  },
  'workspaceAgents.delete': { input: z.strictObject({ ...InWorkspace, agentId: Id }), output: Done },

  /** Names and metadata only. */
  'secrets.list': { input: z.strictObject({ ...InWorkspace, ...Paging }), output: Page(Secret) },
  'secrets.create': {
    input: z.strictObject({ ...InWorkspace, secret: CreateSecretRequest }),
    output: Secret,
  },
  'secrets.update': {
    input: z.strictObject({ ...InWorkspace, secretId: Id, changes: UpdateSecretRequest }),
    output: Secret,
  },
  'secrets.delete': { input: z.strictObject({ ...InWorkspace, secretId: Id }), output: Done },
  /** The value, only on this explicit call; the host keeps no copy. */
  'secrets.reveal': { input: z.strictObject({ ...InWorkspace, secretId: Id }), output: RevealSecretResponse },

  'gateways.list': { input: z.strictObject({ ...InWorkspace, ...Paging }), output: Page(Gateway) },
  'gateways.revoke': { input: z.strictObject({ ...InWorkspace, gatewayId: Id }), output: Done },
  /** Asks the cloud for an enrollment code and links the local gateway with it: no copy-paste. */
  'gateways.linkThisComputer': {
    input: z.strictObject(InWorkspace),
    output: z.strictObject({ workspaceId: Id, cloudUrl: z.string(), gatewayId: Id.optional() }),
  },
  /**
   * Runs `multiclaw-gateway unlink` when the local gateway is linked to this
   * workspace: it revokes itself at the cloud when reachable and deletes its key.
   */
  'gateways.unlinkThisComputer': { input: z.strictObject(InWorkspace), output: Done },

  'transcripts.list': {
    input: z.strictObject({ ...InWorkspace, ...Paging, userId: Id.optional() }),
    output: Page(ConversationSummary),
  },
  'transcripts.read': {
    input: z.strictObject({
      ...InWorkspace,
      conversationId: Id,
      after: z
        .number()
        .int()
        .nonnegative()
        .max(2 ** 31 - 1)
        .optional(),
      limit: z.number().int().min(1).max(MAX_PAGE_SIZE).optional(),
    }),
    output: Page(TranscriptMessage),
  },
  'transcripts.delete': { input: z.strictObject({ ...InWorkspace, conversationId: Id }), output: Done },

  'audit.list': {
    input: z.strictObject({
      ...InWorkspace,
      ...Paging,
      from: Timestamp.optional(),
      to: Timestamp.optional(),
      actor: Id.optional(),
      action: AuditActionFilter.optional(),
    }),
    output: Page(AuditLogEntry),
  },
  /** Every entry matching the filters (all pages), saved by the host as a 0600 CSV or JSON file; the answer says where. */
  'audit.export': {
    input: z.strictObject({
      ...InWorkspace,
      format: z.enum(['csv', 'json']),
      from: Timestamp.optional(),
      to: Timestamp.optional(),
      actor: Id.optional(),
      action: AuditActionFilter.optional(),
    }),
    output: z.strictObject({ path: z.string(), entries: z.number().int().nonnegative() }),
  },
} as const satisfies Record<string, { input: z.ZodType; output: z.ZodType }>;

/** Events of the cloud session on the host's event stream. */
export const DesktopCloudEventsToUi = {
  /**
   * Signed in, signed out, or the session ended (`reason` says why in plain
   * words: the cloud refused a reused refresh token, or revoked the session).
   */
  'account.changed': z.strictObject({
    account: DesktopAccountStatus,
    reason: z.enum(['signed-in', 'signed-out', 'session-ended', 'sso-failed']),
    message: z.string().optional(),
  }),
  /** A real-time event of the cloud (ids only, never content), as `/v1/realtime` sent it. */
  'cloud.event': z.strictObject({ event: RealtimeEvent }),
} as const;
