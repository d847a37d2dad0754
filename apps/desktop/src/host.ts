import { randomUUID } from 'node:crypto';
import { type ApiError, DesktopCloudEventsToUi } from '@multiclaw/protocol';
import { answerClientError, createErrorHandling } from '@multiclaw/runtime/http-errors';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { CapabilityPolicy } from './capabilities/policy.js';
import { createEventStream, type EventStreamDeps } from './ipc/event-stream.js';
import { checkHost, type HostAddress } from './ipc/guard.js';
import { registerIpcRoutes } from './ipc/ipc-routes.js';
import type { RegisteredCommand } from './ipc/registry.js';
import type { WindowSecrets } from './ipc/window-secrets.js';
import { registerSecurityHeaders } from './web/security-headers.js';
import { registerStaticUi } from './web/static-ui.js';

export interface HostDeps {
  log: Logger;
  address: HostAddress;
  secrets: WindowSecrets;
  policy: CapabilityPolicy;
  registry: ReadonlyMap<string, RegisteredCommand>;
  events: Omit<EventStreamDeps, 'address' | 'secrets' | 'log'>;
  uiDir: string;
}

export interface BuiltHost {
  app: FastifyInstance;
  ui: 'built' | 'missing';
  /** The event stream first, then the app. */
  close(): Promise<void>;
}

const CLOUD_EVENTS = new Set<string>(Object.keys(DesktopCloudEventsToUi));

const errors = createErrorHandling({
  internalMessage: 'The desktop host failed; details are in its log',
  notFoundMessage: 'No such page or command route',
});

/**
 * The host's HTTP side, built and not listening: every request passes the
 * Host check first; then the UI's files, the commands (`POST /ipc/<name>`)
 * and the event stream's upgrade. Security headers on every answer.
 */
export async function buildHost(deps: HostDeps): Promise<BuiltHost> {
  const app = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    bodyLimit: 1024 * 1024,
    genReqId: () => randomUUID(),
    frameworkErrors: errors.answerFrameworkError,
  });
  app.server.on('clientError', answerClientError);
  // Commands take JSON only: a text/plain body is what a cross-site form could send.
  app.removeContentTypeParser('text/plain');
  errors.handleErrors(app);
  errors.handleNotFound(app);
  registerSecurityHeaders(app);
  app.addHook('onRequest', async (request) => {
    const refused: ApiError | undefined = checkHost(request.headers.host, deps.address);
    if (refused) throw refused;
  });
  registerIpcRoutes(app, deps);
  const ui = await registerStaticUi(app, deps.uiDir);
  const stream = createEventStream({
    // The cloud session's events (who is signed in, workspace activity) reach only windows that may ask for them.
    mayHear: (window, event) =>
      !CLOUD_EVENTS.has(event.type) || deps.policy.decide(window, 'account.status').allowed,
    ...deps.events,
    address: deps.address,
    secrets: deps.secrets,
    log: deps.log,
  });
  app.server.on('upgrade', stream.onUpgrade);
  return {
    app,
    ui,
    close: async () => {
      stream.close();
      await app.close();
    },
  };
}
