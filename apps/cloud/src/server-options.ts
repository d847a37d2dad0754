import { randomUUID } from 'node:crypto';
import { answerClientError } from '@multiclaw/runtime/http-errors';
import { LogController } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { answerFrameworkError } from './plugins/errors.js';

/** Node's own timers for slow headers and bodies, checked every second rather than every 30 s. */
function serverTimeouts(config: Config) {
  return {
    headersTimeout: config.timeouts.headersMs,
    requestTimeout: config.timeouts.requestMs,
    connectionsCheckingInterval: 1000,
  };
}

/**
 * How the HTTP server behaves before any route runs: its logger and request
 * ids, body limit, trusted proxies, timeouts, TLS, and the envelope for what
 * Node or Fastify refuse on their own.
 */
export function serverOptions(config: Config, logger: Logger) {
  return {
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
  };
}
