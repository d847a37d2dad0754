import pino, { type Logger } from 'pino';

/** JSON logs to stdout with credentials redacted wherever they might appear. Nothing leaves the machine. */
export function createLogger(options: { level?: string; destination?: pino.DestinationStream } = {}): Logger {
  return pino(
    {
      level: options.level ?? process.env.LOG_LEVEL ?? 'info',
      base: { service: 'multiclaw-gateway' },
      timestamp: pino.stdTimeFunctions.isoTime,
      serializers: {
        // Never log query strings: a client could put a credential there (the gateway ignores it).
        req: (req: { method?: string; url?: string; remoteAddress?: string }) => ({
          method: req.method,
          url: req.url?.split('?')[0],
          remoteAddress: req.remoteAddress,
        }),
      },
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers.cookie',
          'headers.authorization',
          'token',
          '*.token',
          'apiKey',
          '*.apiKey',
          '*.*.apiKey',
          'auth',
          '*.auth',
        ],
        censor: '[redacted]',
      },
    },
    options.destination,
  );
}
