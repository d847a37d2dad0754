import type { FastifyPluginAsync } from 'fastify';
import type { Config } from '../../../config.js';
import type { Database } from '../../../db/client.js';
import type { AuditRecorder } from '../../audit/recorder.js';
import type { SessionService } from '../sessions/service.js';
import { parseOidcProviders } from './config.js';
import { oidcRoutes } from './routes.js';
import { createOidcService } from './service.js';

export type OidcModuleOptions = {
  config: Config;
  db: Database;
  now: () => Date;
  sessions: SessionService;
  audit: AuditRecorder;
};

/**
 * Single sign-on (OpenID Connect). Validates `OIDC_PROVIDERS` when it is
 * registered, so a bad provider list stops the server at start-up, naming
 * the bad path. With no providers configured the routes still exist: the
 * list is empty and every provider is a 404.
 */
export const oidcModule: FastifyPluginAsync<OidcModuleOptions> = async (
  app,
  { config, db, now, sessions, audit },
) => {
  const oidc = createOidcService({
    providers: parseOidcProviders(config.auth.oidcProviders),
    publicUrl: config.publicUrl,
    db,
    sessions,
    audit,
    now,
  });
  await app.register(oidcRoutes, { oidc });
};

export { parseOidcProviders } from './config.js';
