import pino, { type DestinationStream, type Logger } from 'pino';

/**
 * Field names whose values must never reach a log line, wherever they sit in
 * a logged object (up to three levels deep: `body.user.password`).
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
];

const SECRET_HEADERS = ['authorization', 'cookie', 'set-cookie', 'x-api-key', 'proxy-authorization'];

export const REDACTED_PATHS = [
  ...SECRET_FIELDS.flatMap((field) => [field, `*.${field}`, `*.*.${field}`, `*.*.*.${field}`]),
  ...SECRET_HEADERS.flatMap((header) => [
    `req.headers["${header}"]`,
    `res.headers["${header}"]`,
    `headers["${header}"]`,
  ]),
];

/**
 * Query strings can carry one-time secrets (an OIDC authorization `code` and
 * `state` on the callback): the names are logged, the values never.
 */
export function redactQueryValues(url: string): string {
  const mark = url.indexOf('?');
  if (mark === -1) return url;
  const names = url
    .slice(mark + 1)
    .split('&')
    .filter(Boolean)
    .map((pair) => `${pair.split('=')[0]}=[REDACTED]`);
  return `${url.slice(0, mark)}?${names.join('&')}`;
}

export function createLogger(options: { level: string; stream?: DestinationStream }): Logger {
  return pino(
    {
      level: options.level,
      redact: { paths: REDACTED_PATHS, censor: '[REDACTED]' },
      base: { service: 'multiclaw-cloud' },
      timestamp: pino.stdTimeFunctions.isoTime,
      serializers: {
        err: pino.stdSerializers.err,
        // Headers are logged (user agent, content type help operators); the
        // redaction list above removes the credentials among them.
        req: (req: {
          id: string;
          method: string;
          url: string;
          headers: Record<string, unknown>;
          ip?: string;
        }) => ({
          id: req.id,
          method: req.method,
          url: redactQueryValues(req.url),
          headers: { ...req.headers },
          ip: req.ip,
        }),
      },
    },
    options.stream,
  );
}
