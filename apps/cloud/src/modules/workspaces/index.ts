import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../../config.js';
import type { Database } from '../../db/client.js';
import type { Mailer } from '../../mail/mailer.js';
import { agentsModule } from '../agents/index.js';
import { auditModule } from '../audit/index.js';
import { createAuditRecorder } from '../audit/recorder.js';
import { createVaultCrypto } from '../vault/crypto.js';
import { vaultModule } from '../vault/index.js';
import { workspaceAccessPlugin } from './access.js';
import { createInvitationService } from './invitations.js';
import { workspaceRoutes } from './routes.js';
import { createWorkspaceService } from './service.js';

type WorkspacesOptions = {
  db: Database;
  now: () => Date;
  masterKeys: Config['masterKeys'];
  keepVersions: number;
  /** Invitations are mailed to the invited address. */
  mailer: Mailer;
  publicUrl: string;
};

/**
 * Workspaces and everything scoped to one: the access hook first (so every
 * route registered after it is checked against the permission matrix), then
 * the feature routes.
 */
export const workspacesModule = fp<WorkspacesOptions>(
  async (app: FastifyInstance, { db, now, masterKeys, keepVersions, mailer, publicUrl }) => {
    const audit = createAuditRecorder({ db, now });
    await app.register(workspaceAccessPlugin, { audit });
    await app.register(agentsModule, { db, now, audit });
    await app.register(auditModule, { db });
    await app.register(vaultModule, {
      db,
      now,
      audit,
      crypto: createVaultCrypto({ masterKeys, now }),
      keepVersions,
    });
    await app.register(workspaceRoutes, {
      workspaces: createWorkspaceService({ db, audit, now }),
      invitations: createInvitationService({ db, audit, now, mailer, publicUrl }),
    });
  },
  { name: 'workspaces', dependencies: ['identity'] },
);
