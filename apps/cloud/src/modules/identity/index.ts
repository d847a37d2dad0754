import type { FastifyInstance } from 'fastify';
import type { AccountService } from './accounts.js';
import { emailRoutes } from './email-routes.js';
import { oidcRoutes } from './oidc/routes.js';
import type { OidcService } from './oidc/service.js';
import type { PrivacyService } from './privacy.js';
import type { PasswordRecovery } from './recovery.js';
import { identityRoutes } from './routes.js';
import type { SessionService } from './sessions/service.js';
import type { EmailVerification } from './verification.js';

export type IdentityModuleOptions = {
  accounts: AccountService;
  sessions: SessionService;
  privacy: PrivacyService;
  verification: EmailVerification;
  recovery: PasswordRecovery;
  oidc: OidcService;
};

/**
 * Identity's routes, registered under `/v1`: accounts and sessions
 * (`/auth/*`, `/me`), what a mailbox proves (`/auth/email/*`,
 * `/auth/password/*`) and single sign-on (`/auth/oidc/*`). The bearer check
 * they use, `app.authenticate`, is infrastructure (plugins/auth.ts).
 */
export async function identityModule(
  app: FastifyInstance,
  { accounts, sessions, privacy, verification, recovery, oidc }: IdentityModuleOptions,
): Promise<void> {
  await app.register(identityRoutes, { accounts, sessions, privacy });
  await app.register(emailRoutes, { verification, recovery });
  await app.register(oidcRoutes, { prefix: '/auth/oidc', oidc });
}
