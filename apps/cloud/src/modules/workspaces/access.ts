import { ApiError, Id } from '@multiclaw/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { ZodType } from 'zod';
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
    /** Every route guarded by the access hook, as `METHOD url` (for the access-matrix test). */
    workspaceRouteTable: string[];
  }
  interface FastifyRequest {
    /** The caller's membership of `:wid`, resolved by the access hook. */
    membership: Membership | null;
  }
}

function zodSchemaOf(schema: unknown): ZodType | undefined {
  return schema && typeof (schema as ZodType).safeParse === 'function' ? (schema as ZodType) : undefined;
}

const WORKSPACE_ROUTE = /^\/v1\/workspaces\/:wid(\/|$)/;

function asList<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** Sessions remembered per process before the memo is cleared (the database check still dedupes). */
const MAX_REMEMBERED_SESSIONS = 100_000;

/**
 * The auth events of members as they touch a workspace: the first time a
 * session reaches a workspace, the workspace's own audit chain records it
 * (who, which session, from where). Deduplicated through the audit table and
 * memoised in memory, so it costs a lookup once per session and workspace.
 */
function createSessionWorkspaceLog(app: FastifyInstance, audit: AuditRecorder) {
  const seen = new Set<string>();
  return async (request: FastifyRequest, workspaceId: string) => {
    const { userId, sessionId } = principalOf(request);
    const key = `${sessionId}:${workspaceId}`;
    if (seen.has(key)) return;
    const already = await app.db.auditEvent.findFirst({
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
 * The one authorisation hook for workspace routes. Every route under
 * `/v1/workspaces/:wid` must declare an action, or the app refuses to start.
 * At request time the caller must be signed in and a member of `:wid`
 * (otherwise 404, exactly like a workspace that does not exist), and their
 * role must allow the action (otherwise 403). Deny by default.
 */
export const workspaceAccessPlugin = fp<{ audit: AuditRecorder }>(
  async (app: FastifyInstance, { audit }) => {
    const sessionsSeen = createSessionWorkspaceLog(app, audit);
    app.decorateRequest('membership', null);
    app.decorate('workspaceRouteTable', []);

    app.addHook('onRoute', (route) => {
      const declared = route.config?.action;
      const isWorkspaceRoute = WORKSPACE_ROUTE.test(route.url);
      if (isWorkspaceRoute && declared === undefined) {
        throw new Error(`${route.method} ${route.url} declares no permission action (config.action)`);
      }
      if (typeof declared === 'string' && !isAction(declared)) {
        throw new Error(`${route.method} ${route.url} declares an unknown action "${declared}"`);
      }
      if (declared === undefined) return;
      if (!isWorkspaceRoute)
        throw new Error(`${route.method} ${route.url} declares an action but has no :wid`);
      // HEAD routes mirror their GET and go through this same hook.
      for (const method of asList(route.method)) {
        if (method !== 'HEAD') app.workspaceRouteTable.push(`${method} ${route.url}`);
      }

      const paramsSchema = zodSchemaOf(route.schema?.params);
      // Runs before the body, query and params are validated, so that a
      // non-member learns nothing from a 400: every answer to them is the 404
      // of a workspace that does not exist.
      const authorize = async (request: FastifyRequest) => {
        const { userId } = principalOf(request);
        const wid = Id.safeParse((request.params as { wid?: unknown }).wid);
        if (!wid.success) throw new ApiError('NOT_FOUND', 'No such workspace');
        const workspaceId = wid.data;
        const row = await app.db.membership.findUnique({
          where: { workspaceId_userId: { workspaceId, userId } },
          select: { role: true },
        });
        if (!row) throw new ApiError('NOT_FOUND', 'No such workspace');
        // The action may depend on the other path ids: decide it on their canonical spelling.
        const params = paramsSchema?.safeParse(request.params);
        if (params?.success) request.params = params.data;
        const action = typeof declared === 'function' ? declared(request) : declared;
        if (!allows(row.role, action)) {
          throw new ApiError('FORBIDDEN', 'Your role in this workspace does not allow this');
        }
        request.membership = { workspaceId, userId, role: row.role };
        await sessionsSeen(request, workspaceId);
      };
      // Signed in first (401), then member and role (404 / 403), then validation (400), then the handler.
      route.onRequest = [app.authenticate, ...asList(route.onRequest)];
      route.preValidation = [authorize, ...asList(route.preValidation)];
    });
  },
  { name: 'workspace-access', dependencies: ['auth', 'database'] },
);
