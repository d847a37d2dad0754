// The cloud as a library: what the benchmarks (and tools that embed the API) import.

export { createLogger } from '@multiclaw/runtime/logger';
export { type BuildAppOptions, buildApp } from './app.js';
export { type Config, loadConfig } from './config.js';
export { createPrismaClient, type Database } from './db/client.js';
export { startEmbeddedPostgres } from './db/embedded-postgres.js';
export { applyMigrations } from './db/migrate.js';
export { createAuditRecorder } from './modules/audit/recorder.js';
export { createAccessTokens } from './modules/identity/tokens/access-tokens.js';
export { createVaultCrypto } from './modules/vault/crypto.js';
export { createSecretService } from './modules/vault/secrets-service.js';
