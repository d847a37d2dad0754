import {
  ApiError,
  AuditLogEntry,
  AuditLogQuery,
  type Cursor,
  Page,
  WorkspaceParams,
} from '@multiclaw/protocol';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Database } from '../../db/client.js';
import { membershipOf } from '../workspaces/access.js';

const CURSOR_PREFIX = 'a1:';
const MAX_BIGINT = 2n ** 63n - 1n;

/** Opaque to clients: the seq of the last entry on the page, which the next page starts below. */
export function encodeAuditCursor(seq: bigint): Cursor {
  return Buffer.from(`${CURSOR_PREFIX}${seq}`).toString('base64url');
}

export function decodeAuditCursor(cursor: string): bigint {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const digits = text.startsWith(CURSOR_PREFIX) ? text.slice(CURSOR_PREFIX.length) : '';
  // A seq is a PostgreSQL bigint: anything past its range is no cursor of ours.
  if (!/^[1-9]\d{0,18}$/.test(digits) || BigInt(digits) > MAX_BIGINT) {
    throw new ApiError('VALIDATION_FAILED', 'Invalid cursor', {
      issues: [{ path: 'cursor', message: 'not a cursor this endpoint issued' }],
    });
  }
  return BigInt(digits);
}

function hex(bytes: Uint8Array | null): string | null {
  return bytes ? Buffer.from(bytes).toString('hex') : null;
}

/**
 * `GET /v1/workspaces/:wid/audit`, inside the workspace scope (app.ts): the
 * workspace's own entries only, newest first (by seq, the chain order),
 * read-only. No route updates or deletes an entry. Registered under its
 * prefix, so its one path is ''.
 */
export const auditRoutes: FastifyPluginAsyncZod<{ db: Database }> = async (app, { db }) => {
  app.get(
    '',
    {
      config: { action: 'audit.read' },
      schema: {
        tags: ['audit'],
        security: [{ bearer: [] }],
        params: WorkspaceParams,
        querystring: AuditLogQuery,
        response: { 200: Page(AuditLogEntry) },
      },
    },
    async (request) => {
      const { workspaceId } = membershipOf(request);
      const { from, to, actor, action, cursor, limit } = request.query;
      const rows = await db.auditEvent.findMany({
        where: {
          workspaceId,
          ...(cursor ? { seq: { lt: decodeAuditCursor(cursor) } } : {}),
          ...(from || to
            ? { createdAt: { ...(from ? { gte: new Date(from) } : {}), ...(to ? { lt: new Date(to) } : {}) } }
            : {}),
          ...(actor ? { actorId: actor } : {}),
          // A prefix is matched with LIKE: `_` (the only wildcard the filter's syntax admits) is escaped.
          ...(action
            ? { action: action.endsWith('.') ? { startsWith: action.replaceAll('_', '\\_') } : action }
            : {}),
        },
        orderBy: { seq: 'desc' },
        take: limit + 1,
      });
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        items: page.map((row) => ({
          id: row.id,
          seq: Number(row.seq),
          createdAt: row.createdAt.toISOString(),
          actorKind: row.actorKind,
          actorId: row.actorId,
          action: row.action,
          targetType: row.targetType,
          targetId: row.targetId,
          metadata: (row.metadata as Record<string, unknown> | null) ?? null,
          ip: row.ip,
          userAgent: row.userAgent,
          prevHash: hex(row.prevHash),
          hash: hex(row.hash) ?? '',
        })),
        nextCursor: rows.length > limit && last ? encodeAuditCursor(last.seq) : null,
      };
    },
  );
};
