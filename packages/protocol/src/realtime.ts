import { z } from 'zod';
import { Id, Timestamp } from './ids.js';

/**
 * The desktop's real-time socket, `GET /v1/realtime` (DESIGN.md §7). Frames
 * are `WsEnvelope`s (ws.ts). The first frame is `auth.token` with an access token
 * (never a token in the URL), within REALTIME_AUTH_TIMEOUT_MS or the socket
 * closes with 4401; the client sends `auth.token` again with a fresh token before
 * the current one expires. Events reach a socket only for workspaces its user
 * belongs to at delivery time, and only what that user may read.
 */
export const REALTIME_PATH = '/v1/realtime';
export const REALTIME_AUTH_TIMEOUT_MS = 5_000;

export const REALTIME_CLOSE = {
  /** No `auth` in time, a refused token, or the token expired without a fresh one. */
  UNAUTHENTICATED: 4401,
  /** The session ended: sign-out, revocation, password change. */
  SESSION_ENDED: 4403,
  /** Too many malformed frames. */
  VIOLATIONS: 4400,
} as const;

export const REALTIME_EVENT_KINDS = [
  'conversation.appended',
  'agent.changed',
  'member.changed',
  'gateway.online',
  'gateway.offline',
  'secret.changed',
  'invitation.changed',
] as const;
export const RealtimeEventKind = z.enum(REALTIME_EVENT_KINDS);
export type RealtimeEventKind = z.infer<typeof RealtimeEventKind>;

/** Kinds only a workspace's owners receive: they concern what only owners may read (pending invitations). */
export const OWNERS_ONLY_EVENT_KINDS: ReadonlySet<RealtimeEventKind> = new Set(['invitation.changed']);

/**
 * One event: which workspace, what kind, and the ids it concerns (never
 * content). `userId` is the person a per-person resource belongs to (a
 * conversation's owner): only they and the workspace's owners receive it.
 * Kinds in OWNERS_ONLY_EVENT_KINDS reach owners only.
 */
export const RealtimeEvent = z.strictObject({
  workspaceId: Id,
  kind: RealtimeEventKind,
  at: Timestamp,
  userId: Id.optional(),
  conversationId: Id.optional(),
  agentId: Id.optional(),
  gatewayId: Id.optional(),
  secretId: Id.optional(),
  memberId: Id.optional(),
  invitationId: Id.optional(),
  /** conversation.appended: the highest sequence now stored. */
  lastSeq: z.number().int().nonnegative().optional(),
});
export type RealtimeEvent = z.infer<typeof RealtimeEvent>;

/** Frames the desktop sends. */
export const RealtimeClientMessages = {
  'auth.token': z.strictObject({ accessToken: z.string().min(1).max(8192) }),
} as const;

/** Frames the cloud sends. */
export const RealtimeServerMessages = {
  /** Reply to `auth.token`: the token was accepted; send a fresh one before `expiresAt`. */
  'auth.ok': z.strictObject({ userId: Id, expiresAt: Timestamp }),
  'realtime.event': RealtimeEvent,
  'realtime.error': z.object({ code: z.string(), message: z.string() }),
} as const;
