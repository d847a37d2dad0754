import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Database } from '../../db/client.js';
import type { VaultCrypto } from './contract.js';
import { secretRoutes } from './routes.js';
import { createSecretService, type SecretServiceDeps } from './secrets-service.js';

export type VaultOptions = {
  db: Database;
  now: () => Date;
  audit: SecretServiceDeps['audit'];
  crypto: VaultCrypto;
  /** Superseded values kept per secret; default 1. */
  keepVersions?: number | undefined;
};

/**
 * The secret vault's API. Register after the workspace access hook
 * (`workspace-access`), which checks every route's declared action.
 */
export const vaultModule = fp<VaultOptions>(
  async (app: FastifyInstance, { db, now, audit, crypto, keepVersions }) => {
    await app.register(secretRoutes, {
      secrets: createSecretService({ db, now, audit, crypto, keepVersions }),
    });
  },
  { name: 'vault', dependencies: ['workspace-access'] },
);
