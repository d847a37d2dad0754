export { type AuditEntry, type AuditRecorder, type AuditTx, createAuditRecorder } from './recorder.js';
export { auditRoutes } from './routes.js';
export { type AuditVerifyResult, type ChainHead, verifyAuditChain } from './verify.js';
