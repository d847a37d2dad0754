import { ApiError, Id } from '@multiclaw/protocol';
import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import type { ZodType } from 'zod';
import type { Database } from '../../db/client.js';
import { principalOf } from '../../plugins/auth.js';
import { clientIp } from '../../plugins/client-ip.js';
import type { AuditRecorder } from '../audit/recorder.js';
import { type Action, allows, isAction, type Role } from './permissions.js';

export type Membership = { workspaceId: string; userId: string; role: Role };

/** What a workspace route declares: one action, or one chosen from the request (e.g. leave vs remove). */
export type ActionDeclaration = Action | ((request: FastifyRequest) => Action);

declare module 'fastify' {
  interface FastifyContextConfig {
    action?: ActionDeclaration;
  }
  interface FastifyInstance {
    /** Every route of the workspace scope, as `METHOD url` (for the access-matrix test). */
    workspaceRouteTable: string[];
  }
  interface FastifyRequest {
    /** The caller's membership of `:wid`, resolved by `authorize`; only the workspace scope has it. */
    membership: Membership | null;
  }
}

/** The URL prefix of the workspace scope: every route under it is one workspace's. */
export const WORKSPACE_PREFIX = '/v1/workspaces/:wid';

function isUnderWorkspacePrefix(url: string): boolean {
  return url === WORKSPACE_PREFIX || url.startsWith(`${WORKSPACE_PREFIX}/`);
}

function zodSchemaOf(schema: unknown): ZodType | undefined {
  return schema && typeof (schema as ZodType).safeParse === 'function' ? (schema as ZodType) : undefined;
}

function asList<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** Sessions remembered per process before the memo is cleared (the database check still dedupes). */
const MAX_REMEMBERED_SESSIONS = 100_000;

type AccessDeps = { db: Database; audit: AuditRecorder };

/**
 * The auth events of members as they touch a workspace: the first time a
 * session reaches a workspace, the workspace's own audit chain records it
 * (who, which session, from where). Deduplicated through the audit table and
 * memoised in memory, so it costs a lookup once per session and workspace.
 */
function createSessionWorkspaceLog({ db, audit }: AccessDeps) {
  const seen = new Set<string>();
  return async (request: FastifyRequest, workspaceId: string) => {
    const { userId, sessionId } = principalOf(request);
    const key = `${sessionId}:${workspaceId}`;
    if (seen.has(key)) return;
    const already = await db.auditEvent.findFirst({
      where: {
        workspaceId,
        targetType: 'session',
        targetId: sessionId,
        action: 'auth.session.workspace_access',
      },
      select: { id: true },
    });
    if (!already) {
      await audit.record({
        action: 'auth.session.workspace_access',
        workspaceId,
        actorId: userId,
        targetType: 'session',
        targetId: sessionId,
        ip: clientIp(request),
        userAgent: request.headers['user-agent'],
      });
    }
    if (seen.size >= MAX_REMEMBERED_SESSIONS) seen.clear();
    seen.add(key);
  };
}

export function membershipOf(request: FastifyRequest): Membership {
  if (!request.membership) throw new Error('route has no access hook');
  return request.membership;
}

/**
 * The hooks of the workspace scope (`WORKSPACE_PREFIX`, wired in app.ts), the
 * one place workspace routes are authorised. Deny by default:
 * - `declaration` (onRoute): every route in the scope declares a known action
 *   (`config.action`), or the app refuses to start;
 * - `authorize` (preValidation, after the scope's `authenticate`): the caller
 *   must be a member of `:wid` (otherwise 404, exactly like a workspace that
 *   does not exist) whose role allows the route's action (otherwise 403).
 */
export function createWorkspaceAccess(deps: AccessDeps) {
  const sessionsSeen = createSessionWorkspaceLog(deps);
  const routeTable: string[] = [];

  function declaration(route: RouteOptions): void {
    const declared = route.config?.action;
    if (declared === undefined) {
      throw new Error(`${route.method} ${route.url} declares no permission action (config.action)`);
    }
    if (typeof declared === 'string' && !isAction(declared)) {
      throw new Error(`${route.method} ${route.url} declares an unknown action "${declared}"`);
    }
    // HEAD routes mirror their GET and go through the same hooks.
    for (const method of asList(route.method)) {
      if (method !== 'HEAD') routeTable.push(`${method} ${route.url}`);
    }
  }

  // Runs before the body, query and params are validated, so that a
  // non-member learns nothing from a 400: every answer to them is the 404
  // of a workspace that does not exist.
  async function authorize(request: FastifyRequest): Promise<void> {
    const { config, schema } = request.routeOptions;
    const declared = config.action;
    if (declared === undefined) throw new Error(`${request.routeOptions.url} declares no action`);
    const { userId } = principalOf(request);
    const wid = Id.safeParse((request.params as { wid?: unknown }).wid);
    if (!wid.success) throw new ApiError('NOT_FOUND', 'No such workspace');
    const workspaceId = wid.data;
    // Read with the live-session check a moment ago, in the same statement (auth.ts).
    const prefetched = request.workspaceRole;
    const row =
      prefetched?.workspaceId === workspaceId
        ? prefetched.role === null
          ? null
          : { role: prefetched.role as Role }
        : await deps.db.membership.findUnique({
            where: { workspaceId_userId: { workspaceId, userId } },
            select: { role: true },
          });
    if (!row) throw new ApiError('NOT_FOUND', 'No such workspace');
    // The action may depend on the other path ids: decide it on their canonical spelling.
    const params = zodSchemaOf(schema?.params)?.safeParse(request.params);
    if (params?.success) request.params = params.data;
    const action = typeof declared === 'function' ? declared(request) : declared;
    if (!allows(row.role, action)) {
      throw new ApiError('FORBIDDEN', 'Your role in this workspace does not allow this');
    }
    request.membership = { workspaceId, userId, role: row.role };
    await sessionsSeen(request, workspaceId);
  }

  return { declaration, authorize, routeTable };
}

export type WorkspaceAccess = ReturnType<typeof createWorkspaceAccess>;

/**
 * For the root (onRoute): a route outside the workspace scope must neither
 * live under `WORKSPACE_PREFIX` nor declare an action, since neither sign-in
 * nor the access check runs there. Only the scope decorates requests with a
 * membership, so a route registered in it (or in a plugin inside it) sees
 * that decorator and one registered anywhere else does not.
 */
export function refuseWorkspaceRoutesOutsideTheScope(this: FastifyInstance, route: RouteOptions): void {
  if (this.hasRequestDecorator('membership')) return;
  if (isUnderWorkspacePrefix(route.url)) {
    throw new Error(
      `${route.method} ${route.url} is a workspace route registered outside the workspace scope, so ` +
        'nothing checks who may use it: register it inside the scope (app.ts) with a config.action',
    );
  }
  if (route.config?.action !== undefined) {
    throw new Error(
      `${route.method} ${route.url} declares a permission action outside the workspace scope, where ` +
        `nothing enforces it: move it under ${WORKSPACE_PREFIX} (app.ts)`,
    );
  }
}
