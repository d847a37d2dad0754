import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, LogController } from 'fastify';
import { serializerCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { createMailer } from './mail/mailer.js';
import { healthRoutes } from './modules/health/routes.js';
import { identityModule } from './modules/identity/index.js';
import type { IntervalTimers } from './modules/identity/lockout/pruning.js';
import { metaRoutes } from './modules/meta/routes.js';
import { workspacesModule } from './modules/workspaces/index.js';
import { answerClientError } from './plugins/client-errors.js';
import { type Database, databasePlugin } from './plugins/database.js';
import { answerFrameworkError, errorsPlugin } from './plugins/errors.js';
import { openapiPlugin } from './plugins/openapi.js';
import { rateLimitPlugin } from './plugins/rate-limit.js';
import { securityPlugin } from './plugins/security.js';
import { inputValidatorCompiler } from './plugins/validation.js';

export type BuildAppOptions = {
  config: Config;
  db: Database;
  logger: Logger;
  /** Injectable clock, for anything that depends on the current time. */
  now?: () => Date;
  /** Injectable interval timers for background maintenance (pruning), so tests fire it by hand. */
  timers?: IntervalTimers;
};

export type App = FastifyInstance;

/** Node's own timers for slow headers and bodies, checked every second rather than every 30 s. */
function serverTimeouts(config: Config) {
  return {
    headersTimeout: config.timeouts.headersMs,
    requestTimeout: config.timeouts.requestMs,
    connectionsCheckingInterval: 1000,
  };
}

/** Builds the whole cloud API. It never listens: server.ts (or a test) does. */
export async function buildApp({ config, db, logger, now = () => new Date(), timers }: BuildAppOptions) {
  const app = Fastify({
    loggerInstance: logger,
    bodyLimit: config.bodyLimitBytes,
    trustProxy: config.trustProxy.length > 0 ? [...config.trustProxy] : false,
    // Request ids are always ours: a client-chosen id could forge log lines.
    genReqId: () => randomUUID(),
    logController: new LogController({ requestIdLogLabel: 'requestId' }),
    return503OnClosing: true,
    // A client that trickles its headers or body cannot hold a connection open:
    // past these limits it gets REQUEST_TIMEOUT in the envelope (answerClientError).
    requestTimeout: config.timeouts.requestMs,
    http: serverTimeouts(config),
    clientErrorHandler: answerClientError,
    frameworkErrors: answerFrameworkError,
    ...(config.tls
      ? {
          https: {
            cert: config.tls.cert,
            key: config.tls.key,
            minVersion: 'TLSv1.2' as const,
            ...serverTimeouts(config),
          },
        }
      : {}),
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(inputValidatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  await app.register(errorsPlugin);
  await app.register(databasePlugin, { db });
  await app.register(securityPlugin, { corsOrigins: config.corsOrigins });
  await app.register(openapiPlugin, { publicUrl: config.publicUrl });

  await app.register(rateLimitPlugin, {
    max: config.auth.rateLimit.max,
    timeWindowMs: config.auth.rateLimit.windowSeconds * 1000,
    budgets: {
      auth: { max: config.auth.rateLimit.max, timeWindowMs: config.auth.rateLimit.windowSeconds * 1000 },
    },
    now,
  });

  const mailer = createMailer({ transport: config.mail.transport, from: config.mail.from, logger });
  app.decorate('mailer', mailer);
  // Deliveries still in flight finish before the server goes away.
  app.addHook('onClose', () => mailer.close());

  await app.register(healthRoutes);
  await app.register(metaRoutes, { contact: config.securityContact, publicUrl: config.publicUrl, now });
  await app.register(identityModule, { config, db, now, mailer, ...(timers ? { timers } : {}) });
  await app.register(workspacesModule, {
    db,
    now,
    mailer,
    publicUrl: config.publicUrl,
    masterKeys: config.masterKeys,
    keepVersions: config.vaultKeepVersions,
  });

  return app;
}
