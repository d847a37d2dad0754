import type { FastifyInstance } from 'fastify';
import type { Database } from '../../db/client.js';
import { auditRoutes } from './routes.js';

export { type AuditEntry, type AuditRecorder, type AuditTx, createAuditRecorder } from './recorder.js';
export { type AuditVerifyResult, type ChainHead, verifyAuditChain } from './verify.js';

type AuditOptions = { db: Database };

/**
 * The workspace audit log's read API. Register it after the workspace access
 * hook (its route declares `audit.read`, owners only).
 */
export async function auditModule(app: FastifyInstance, { db }: AuditOptions): Promise<void> {
  await app.register(auditRoutes, { db });
}
