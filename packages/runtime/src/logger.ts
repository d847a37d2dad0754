import pino, { type DestinationStream, type Logger } from 'pino';

/**
 * Field names whose values must never reach a log line, wherever they sit in
 * a logged object (up to three levels deep: `body.user.password`). One list
 * for the cloud and the gateway: a name that is secret in one is secret in both.
 */
const SECRET_FIELDS = [
  'password',
  'currentPassword',
  'newPassword',
  'token',
  'accessToken',
  'refreshToken',
  'idToken',
  'secret',
  'clientSecret',
  'key',
  'apiKey',
  'privateKey',
  'masterKey',
  'value',
  'code',
  'assertion',
  'auth',
];

// x-multiclaw-secret: the desktop window's secret (apps/desktop).
const SECRET_HEADERS = [
  'authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'proxy-authorization',
  'x-multiclaw-secret',
];

export const REDACTED_PATHS = [
  ...SECRET_FIELDS.flatMap((field) => [field, `*.${field}`, `*.*.${field}`, `*.*.*.${field}`]),
  ...SECRET_HEADERS.flatMap((header) => [
    `req.headers["${header}"]`,
    `res.headers["${header}"]`,
    `headers["${header}"]`,
  ]),
];

/** What stands in a log line where a secret was. */
export const CENSOR = '[REDACTED]';

/**
 * Query strings can carry one-time secrets (an OIDC authorization `code` and
 * `state` on the callback, a token a client put there): the names are logged,
 * the values never, and a part without a name (`?sk-…`) not at all.
 */
export function redactQueryValues(url: string): string {
  const mark = url.indexOf('?');
  if (mark === -1) return url;
  const names = url
    .slice(mark + 1)
    .split('&')
    .filter(Boolean)
    .map((pair) => (pair.includes('=') ? `${pair.split('=')[0]}=${CENSOR}` : CENSOR));
  return `${url.slice(0, mark)}?${names.join('&')}`;
}

export interface LoggerOptions {
  /** Every line's `service` field (`multiclaw-cloud`, `multiclaw-gateway`). */
  service?: string;
  /** Default: LOG_LEVEL, else `info`. */
  level?: string | undefined;
  /** Default: standard output. Nothing else: no log leaves the machine. */
  destination?: DestinationStream;
}

/** JSON lines (pino) with ISO times, every secret field and credential header redacted. */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? process.env.LOG_LEVEL ?? 'info',
      redact: { paths: REDACTED_PATHS, censor: CENSOR },
      base: options.service ? { service: options.service } : {},
      timestamp: pino.stdTimeFunctions.isoTime,
      serializers: {
        err: pino.stdSerializers.err,
        // A Fastify request. Headers are logged (user agent, content type help
        // operators); the redaction list above removes the credentials among them.
        req: (req: {
          id?: string;
          method?: string;
          url?: string;
          headers?: Record<string, unknown>;
          ip?: string;
        }) => ({
          id: req.id,
          method: req.method,
          url: req.url === undefined ? undefined : redactQueryValues(req.url),
          headers: { ...req.headers },
          ip: req.ip,
        }),
      },
    },
    options.destination,
  );
}
