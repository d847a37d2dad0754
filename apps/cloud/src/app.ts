import { linkAudience } from '@multiclaw/protocol';
import Fastify, { type FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { Database } from './db/client.js';
import { createEventBus } from './events/create-event-bus.js';
import { createEventPublisher } from './events/publisher.js';
import { createMailer } from './mail/mailer.js';
import { agentRoutes } from './modules/agents/routes.js';
import { createAgentService } from './modules/agents/service.js';
import { createAuditRecorder } from './modules/audit/recorder.js';
import { auditRoutes } from './modules/audit/routes.js';
import { createLinkAssertions } from './modules/gateway-link/assertion.js';
import { type GatewayLinkOptions, gatewayLinkRoutes } from './modules/gateway-link/routes.js';
import { gatewaySelfRevokeRoute } from './modules/gateway-link/self-revoke-route.js';
import { gatewayEnrollRoutes, gatewayRoutes } from './modules/gateways/routes.js';
import { createGatewayService } from './modules/gateways/service.js';
import { healthRoutes } from './modules/health/routes.js';
import { createAccountService } from './modules/identity/accounts.js';
import { createEmailTokens } from './modules/identity/email-tokens.js';
import { identityModule } from './modules/identity/index.js';
import { type IntervalTimers, pruningPlugin } from './modules/identity/lockout/pruning.js';
import { createLoginThrottle } from './modules/identity/lockout/service.js';
import { parseOidcProviders } from './modules/identity/oidc/config.js';
import { createOidcService } from './modules/identity/oidc/service.js';
import { createPasswordHasher } from './modules/identity/passwords/hashing.js';
import { checkPasswordPolicy } from './modules/identity/passwords/policy.js';
import { createPrivacyService } from './modules/identity/privacy.js';
import { createPasswordRecovery } from './modules/identity/recovery.js';
import { createSessionService } from './modules/identity/sessions/service.js';
import { createAccessTokens } from './modules/identity/tokens/access-tokens.js';
import { refreshKeyFromMasterKey } from './modules/identity/tokens/refresh-tokens.js';
import { createEmailVerification } from './modules/identity/verification.js';
import { metaRoutes } from './modules/meta/routes.js';
import { realtimeRoutes } from './modules/realtime/routes.js';
import { transcriptRoutes } from './modules/transcripts/routes.js';
import { createTranscriptService } from './modules/transcripts/service.js';
import { createVaultCrypto } from './modules/vault/crypto.js';
import { valuesForGateway } from './modules/vault/gateway-fetch.js';
import { secretRoutes } from './modules/vault/routes.js';
import { createSecretService } from './modules/vault/secrets-service.js';
import {
  createWorkspaceAccess,
  refuseWorkspaceRoutesOutsideTheScope,
  WORKSPACE_PREFIX,
} from './modules/workspaces/access.js';
import { workspaceEntryRoutes } from './modules/workspaces/entry-routes.js';
import { createInvitationService } from './modules/workspaces/invitations.js';
import { workspaceRoutes } from './modules/workspaces/routes.js';
import { createWorkspaceService } from './modules/workspaces/service.js';
import { authPlugin } from './plugins/auth.js';
import { databasePlugin } from './plugins/database.js';
import { errorsPlugin } from './plugins/errors.js';
import { eventBusPlugin } from './plugins/event-bus.js';
import { mailerPlugin } from './plugins/mailer.js';
import { openapiPlugin } from './plugins/openapi.js';
import { rateLimitPlugin } from './plugins/rate-limit.js';
import { requestIdPlugin } from './plugins/request-id.js';
import { securityPlugin } from './plugins/security.js';
import { validationPlugin } from './plugins/validation.js';
import { websocketPlugin } from './plugins/websocket.js';
import { serverOptions } from './server-options.js';

export type BuildAppOptions = {
  config: Config;
  db: Database;
  logger: Logger;
  /** Injectable clock, for anything that depends on the current time. */
  now?: () => Date;
  /** Injectable interval timers for background maintenance (pruning), so tests fire it by hand. */
  timers?: IntervalTimers;
  /** The gateway link's heartbeat interval (LINK_HEARTBEAT_MS), shorter in tests. */
  gatewayLink?: Pick<GatewayLinkOptions, 'heartbeatMs'>;
};

export type App = FastifyInstance;

/**
 * Every service and what it depends on. Each is a factory taking only the
 * dependencies it uses; one audit recorder and one mailer serve them all.
 */
function createServices({
  config,
  db,
  logger,
  now,
}: Required<Omit<BuildAppOptions, 'timers' | 'gatewayLink'>>) {
  const { auth, publicUrl } = config;
  const audit = createAuditRecorder({ db, now });
  // What this instance tells every instance (real-time events, ended sessions, revoked gateways).
  const bus = createEventBus({ config, logger });
  // How services announce a committed change on it (never failing the change).
  const events = createEventPublisher(bus, logger);
  const mailer = createMailer({ transport: config.mail.transport, from: config.mail.from, logger });
  // One envelope encryption for every value at rest (secrets, transcript content), one key cache.
  const vault = createVaultCrypto({ masterKeys: config.masterKeys, now });

  // Identity.
  const tokens = createAccessTokens({
    keyring: config.signingKeys,
    issuer: publicUrl,
    ttlSeconds: auth.accessTokenTtlSeconds,
    now,
  });
  const activeMasterKey = config.masterKeys[0]?.key;
  if (!activeMasterKey) throw new Error('no master key configured');
  const sessions = createSessionService({
    db,
    tokens,
    audit,
    now,
    events,
    // Refresh-token successors are HMACs under a key derived from the active
    // (highest-version) master key by HKDF-SHA256 (refreshKeyFromMasterKey).
    // Deliberately not a key of its own: every existing deployment would lack
    // the new variable and refuse to start, and every server already shares
    // the master keys. Rotating the master key changes it, which only matters
    // to a lost-response retry (reuse grace, seconds) straddling the restart:
    // that client signs in again.
    refreshDerivationKey: refreshKeyFromMasterKey(activeMasterKey),
    policy: {
      idleTtlSeconds: auth.sessionIdleTtlSeconds,
      absoluteTtlSeconds: auth.sessionAbsoluteTtlSeconds,
      reuseGraceSeconds: auth.refreshReuseGraceSeconds,
    },
  });
  const hasher = createPasswordHasher(auth.argon2);
  // One lockout for every password check: sign-in, password change, account deletion.
  const throttle = createLoginThrottle({ db, now, policy: auth.lockout });
  const emailTokens = createEmailTokens({ db, now });
  const mailing = { db, tokens: emailTokens, mailer, audit, publicUrl, now };
  const verification = createEmailVerification(mailing);
  const identity = {
    sessions,
    verification,
    accounts: createAccountService({
      db,
      hasher,
      throttle,
      policy: checkPasswordPolicy,
      sessions,
      audit,
      verification,
    }),
    privacy: createPrivacyService({ db, hasher, throttle, audit, crypto: vault, now, events }),
    recovery: createPasswordRecovery({ ...mailing, hasher, policy: checkPasswordPolicy, sessions, throttle }),
    // Parsing OIDC_PROVIDERS here stops a bad provider list at start-up, naming the bad path.
    oidc: createOidcService({
      providers: parseOidcProviders(auth.oidcProviders),
      publicUrl,
      db,
      sessions,
      audit,
      now,
    }),
  };

  // Workspaces, and what lives in one.
  const workspace = {
    workspaces: createWorkspaceService({ db, audit, now, events }),
    invitations: createInvitationService({ db, audit, now, mailer, publicUrl, events }),
    agents: createAgentService({ db, now, audit, events }),
    gateways: createGatewayService({ db, now, audit, bus }),
    secrets: createSecretService({
      db,
      now,
      audit,
      crypto: vault,
      keepVersions: config.vaultKeepVersions,
      events,
    }),
    transcripts: createTranscriptService({ db, now, audit, bus, crypto: vault, logger }),
  };

  // The gateway link: assertions checked against each gateway's enrolled key, secrets through the vault.
  const linkAssertions = createLinkAssertions({ db, now, audience: linkAudience(publicUrl) });
  const gatewayLink = {
    assertions: linkAssertions,
    secrets: (gateway: { id: string; workspaceId: string }, agentIds: readonly string[]) =>
      valuesForGateway(
        { db, audit, crypto: vault },
        { workspaceId: gateway.workspaceId, gatewayId: gateway.id, agentIds },
      ),
    sync: workspace.transcripts,
  };

  return {
    bus,
    mailer,
    tokens,
    identity,
    workspace,
    gatewayLink,
    access: createWorkspaceAccess({ db, audit }),
    // Rows keyed by what clients send (emails tried, codes mailed) expire: deleted on a schedule.
    pruning: [
      { name: 'login_throttles', run: () => throttle.prune() },
      { name: 'email_tokens', run: () => emailTokens.prune() },
      { name: 'gateway_assertion_jtis', run: () => linkAssertions.prune() },
    ],
  };
}

/**
 * The composition root: builds the whole cloud API and never listens
 * (server.ts or a test does). Infrastructure is `fastify-plugin`, shared by
 * every route; each feature is an encapsulated plugin under the prefix it
 * owns, so what a route can use is what its scope registered.
 */
export async function buildApp({
  config,
  db,
  logger,
  now = () => new Date(),
  timers,
  gatewayLink,
}: BuildAppOptions) {
  const services = createServices({ config, db, logger, now });
  const { identity, access } = services;
  const app = Fastify(serverOptions(config, logger)).withTypeProvider<ZodTypeProvider>();

  // Infrastructure.
  await app.register(validationPlugin);
  await app.register(requestIdPlugin);
  await app.register(errorsPlugin);
  await app.register(databasePlugin, { db });
  await app.register(securityPlugin, { corsOrigins: config.corsOrigins });
  await app.register(openapiPlugin, { publicUrl: config.publicUrl });
  const authBudget = {
    max: config.auth.rateLimit.max,
    timeWindowMs: config.auth.rateLimit.windowSeconds * 1000,
  };
  await app.register(rateLimitPlugin, { ...authBudget, budgets: { auth: authBudget }, now });
  await app.register(mailerPlugin, { mailer: services.mailer });
  await app.register(eventBusPlugin, { bus: services.bus });
  await app.register(websocketPlugin);
  await app.register(authPlugin, { tokens: services.tokens, sessions: identity.sessions });
  // A workspace route anywhere but in the workspace scope below stops the app at start-up.
  app.addHook('onRoute', refuseWorkspaceRoutesOutsideTheScope);

  // Features.
  await app.register(healthRoutes); // /healthz, /readyz
  await app.register(metaRoutes, {
    prefix: '/.well-known',
    contact: config.securityContact,
    publicUrl: config.publicUrl,
    now,
    jwks: () => services.tokens.jwks(),
  });
  await app.register(identityModule, { prefix: '/v1', ...identity }); // /v1/auth/*, /v1/me
  const { workspaces, invitations, agents, secrets, gateways, transcripts } = services.workspace;
  // /v1/workspaces, /v1/invitations/accept
  await app.register(workspaceEntryRoutes, { prefix: '/v1', workspaces, invitations });
  // /v1/gateways/enroll: no bearer, the one-time enrollment code is the credential.
  await app.register(gatewayEnrollRoutes, { prefix: '/v1/gateways', gateways });
  // /v1/realtime: the desktop's WebSocket, signed in by its first frame.
  await app.register(realtimeRoutes, {
    prefix: '/v1',
    db,
    now,
    bus: services.bus,
    tokens: services.tokens,
    sessions: identity.sessions,
  });
  // /v1/gateway-link: the gateway's WebSocket, authenticated by its signed assertion.
  await app.register(gatewayLinkRoutes, {
    prefix: '/v1',
    db,
    now,
    bus: services.bus,
    ...services.gatewayLink,
    ...gatewayLink,
  });

  // /v1/gateway-link/self: a gateway revokes itself (unlink), authenticated by its signed assertion.
  await app.register(gatewaySelfRevokeRoute, {
    prefix: '/v1',
    db,
    assertions: services.gatewayLink.assertions,
    gateways,
  });

  // One workspace, /v1/workspaces/:wid. Every route in here declares its
  // action (or the app refuses to start); a request to one is signed in (401),
  // then a member of :wid whose role allows that action (404 / 403), and only
  // then validated (400) and handled.
  await app.register(
    async (scope) => {
      scope.decorateRequest('membership', null);
      scope.addHook('onRoute', access.declaration);
      scope.addHook('onRequest', scope.authenticate);
      scope.addHook('preValidation', access.authorize);
      await scope.register(workspaceRoutes, { workspaces, invitations }); // itself, /members, /invitations
      await scope.register(agentRoutes, { prefix: '/agents', agents });
      await scope.register(secretRoutes, { prefix: '/secrets', secrets });
      await scope.register(auditRoutes, { prefix: '/audit', db });
      await scope.register(gatewayRoutes, { gateways }); // /gateway-enrollments, /gateways
      await scope.register(transcriptRoutes, { transcripts }); // /conversations
    },
    { prefix: WORKSPACE_PREFIX },
  );
  // What the scope guards, as `METHOD url`: the access-matrix test walks it.
  app.decorate('workspaceRouteTable', access.routeTable);

  // Background work.
  await app.register(pruningPlugin, { tasks: services.pruning, timers });

  return app;
}
