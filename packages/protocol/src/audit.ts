import { z } from 'zod';
import { Id, Timestamp } from './ids.js';
import { PageQuery } from './pagination.js';

export const AuditActorKind = z.enum(['user', 'gateway', 'system', 'anonymous']);
export type AuditActorKind = z.infer<typeof AuditActorKind>;

/** A dotted action name (`member.role_changed`); ending in `.` it is a prefix (`member.`). */
export const AuditActionFilter = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[a-z0-9_]+(\.[a-z0-9_]+)*\.?$/, 'a dotted action name, or a prefix ending in "."');
export type AuditActionFilter = z.infer<typeof AuditActionFilter>;

/**
 * `GET /v1/workspaces/:wid/audit`. `from` is inclusive and `to` exclusive
 * (ISO 8601 UTC); `actor` is the acting user's or gateway's id; `action`
 * matches exactly, or as a prefix when it ends in `.`.
 */
export const AuditLogQuery = PageQuery.extend({
  from: Timestamp.optional(),
  to: Timestamp.optional(),
  actor: Id.optional(),
  action: AuditActionFilter.optional(),
  /** DESIGN.md §4 names this filter `type`: accepted as another name for `action`. */
  type: AuditActionFilter.optional(),
})
  .refine((q) => !q.from || !q.to || Date.parse(q.from) <= Date.parse(q.to), {
    message: '`from` must not be after `to`',
    path: ['from'],
  })
  .refine((q) => !q.action || !q.type || q.action === q.type, {
    message: '`type` is another name for `action`: give one, or the same value',
    path: ['type'],
  })
  .transform(({ type, ...q }) => ({ ...q, action: q.action ?? type }));
export type AuditLogQuery = z.infer<typeof AuditLogQuery>;

/** One entry of a workspace's audit log, with its place in the hash chain. */
export const AuditLogEntry = z.object({
  id: Id,
  /** Position in the workspace's chain: 1, 2, 3… */
  seq: z.number().int().positive(),
  createdAt: Timestamp,
  actorKind: AuditActorKind,
  actorId: Id.nullable(),
  action: z.string(),
  targetType: z.string().nullable(),
  targetId: z.string().nullable(),
  metadata: z.record(z.string(), z.unknown()).nullable(),
  ip: z.string().nullable(),
  userAgent: z.string().nullable(),
  /** SHA-256, hex: of the previous entry (null for seq 1) and of this one. */
  prevHash: z.string().nullable(),
  hash: z.string(),
});
export type AuditLogEntry = z.infer<typeof AuditLogEntry>;
