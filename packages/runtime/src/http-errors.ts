import type { Socket } from 'node:net';
import { ApiError, type ErrorCode } from '@multiclaw/protocol';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Errors by their `code` (a library's, Fastify's), as one of our codes and a message safe to show. */
export type ErrorTable = Readonly<Record<string, readonly [ErrorCode, string]>>;

/** Fastify's refusals of a request body: the same words from every server of ours. */
const FASTIFY_BODY_ERRORS: ErrorTable = {
  FST_ERR_CTP_INVALID_JSON_BODY: ['MALFORMED_JSON', 'The request body is not valid JSON'],
  FST_ERR_CTP_EMPTY_JSON_BODY: ['BAD_REQUEST', 'The request body is empty but declares JSON'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ['UNSUPPORTED_MEDIA_TYPE', 'Send the body as application/json'],
  FST_ERR_CTP_BODY_TOO_LARGE: ['PAYLOAD_TOO_LARGE', 'The request body is too large'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ['BAD_REQUEST', 'Content-Length does not match the body'],
};

/** Any other error that carries an HTTP status (Fastify's, a plugin's), by that status. */
const BY_STATUS: Readonly<Record<number, readonly [ErrorCode, string]>> = {
  400: ['BAD_REQUEST', 'The request is malformed'],
  404: ['NOT_FOUND', 'Not found'],
  405: ['METHOD_NOT_ALLOWED', 'Method not allowed'],
  413: ['PAYLOAD_TOO_LARGE', 'The request body is too large'],
  415: ['UNSUPPORTED_MEDIA_TYPE', 'Unsupported media type'],
  429: ['RATE_LIMITED', 'Too many requests'],
  503: ['SERVICE_UNAVAILABLE', 'Service unavailable'],
};

export interface ErrorHandlingOptions {
  /** The app's own errors by `code`, besides Fastify's body refusals. */
  knownErrors?: ErrorTable;
  /** Tried first, for what a code cannot tell (the cloud's schema validation errors); undefined passes on. */
  recognise?: (error: Error) => ApiError | undefined;
  /** What INTERNAL says: everything unexpected, never its real message or stack. */
  internalMessage: string;
  /** What a request to no route is told. */
  notFoundMessage: string;
  /** `retry-after` (seconds) for errors of these codes that carry no `retryAfterSeconds`. */
  defaultRetryAfterSeconds?: Partial<Record<ErrorCode, number>>;
}

export interface ErrorHandling {
  /** Turns anything thrown into an ApiError whose message is safe to show. */
  toApiError(error: unknown): ApiError;
  /**
   * Installs the one error handler of a scope: every error becomes an ApiError,
   * failures (5xx) are logged with the error, refusals with their code only,
   * `retry-after` comes from the error's details, and the body has the shape
   * the scope speaks (our envelope unless `body` says otherwise).
   */
  handleErrors(scope: FastifyInstance, body?: (error: ApiError, requestId: string) => unknown): void;
  /** NOT_FOUND in the envelope for a request that matches no route of the scope. */
  handleNotFound(scope: FastifyInstance): void;
  /**
   * For Fastify's `frameworkErrors` option: errors raised before routing, which
   * never reach the error handler (a path that is not valid percent-encoded
   * UTF-8, a failed route constraint).
   */
  answerFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void;
}

/** One server's error handling: the shared mapping with the app's own errors and words. */
export function createErrorHandling(options: ErrorHandlingOptions): ErrorHandling {
  const known: ErrorTable = { ...FASTIFY_BODY_ERRORS, ...options.knownErrors };
  const retryDefaults = options.defaultRetryAfterSeconds ?? {};

  function toApiError(error: unknown): ApiError {
    if (error instanceof ApiError) return error;
    if (!(error instanceof Error)) return new ApiError('INTERNAL', options.internalMessage);
    const recognised = options.recognise?.(error);
    if (recognised) return recognised;
    const code = 'code' in error && typeof error.code === 'string' ? error.code : undefined;
    const byCode = code === undefined ? undefined : known[code];
    if (byCode) return new ApiError(byCode[0], byCode[1]);
    const status =
      'statusCode' in error && typeof error.statusCode === 'number' ? error.statusCode : undefined;
    // A content-type parser's own JSON error: Fastify gives every parser error a 4xx status.
    if (error instanceof SyntaxError && status === 400) {
      return new ApiError('MALFORMED_JSON', 'The request body is not valid JSON');
    }
    const byStatus = status === undefined ? undefined : BY_STATUS[status];
    if (byStatus) return new ApiError(byStatus[0], byStatus[1]);
    return new ApiError('INTERNAL', options.internalMessage);
  }

  return {
    toApiError,
    handleErrors(scope, body = (error, requestId) => error.toEnvelope(requestId)) {
      scope.setErrorHandler((error, request, reply) => {
        const apiError = toApiError(error);
        if (apiError.status >= 500)
          request.log.error({ err: error, errorCode: apiError.code }, 'request failed');
        else request.log.info({ errorCode: apiError.code }, 'request refused');
        const retryAfter = apiError.details?.retryAfterSeconds ?? retryDefaults[apiError.code];
        if (retryAfter !== undefined && !reply.hasHeader('retry-after'))
          reply.header('retry-after', String(retryAfter));
        return reply.status(apiError.status).send(body(apiError, request.id));
      });
    },
    handleNotFound(scope) {
      scope.setNotFoundHandler((request, reply) =>
        reply.status(404).send(new ApiError('NOT_FOUND', options.notFoundMessage).toEnvelope(request.id)),
      );
    },
    answerFrameworkError(error, request, reply) {
      const apiError =
        error.code === 'FST_ERR_BAD_URL'
          ? new ApiError('BAD_REQUEST', 'The request path is not valid percent-encoded UTF-8')
          : toApiError(error);
      request.log.info({ errorCode: apiError.code }, 'request refused');
      reply.status(apiError.status).send(apiError.toEnvelope(request.id));
    },
  };
}

/**
 * Reason phrases of the statuses answered on a raw socket. A table rather than
 * node:http's STATUS_CODES: the gateway lets only its listener import node:http
 * (apps/gateway/src/architecture/no-direct-egress.test.ts), and this code runs there too.
 */
const REASONS: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  408: 'Request Timeout',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/**
 * A whole HTTP/1.1 error response as text, for the places below Fastify that
 * answer on the raw socket (Node's client errors, refused upgrades, connection
 * limits): the same envelope as every route's, and the connection closes.
 */
export function rawErrorResponse(error: ApiError, requestId: string): string {
  const body = JSON.stringify(error.toEnvelope(requestId));
  const retryAfter = error.details?.retryAfterSeconds;
  return (
    `HTTP/1.1 ${error.status} ${REASONS[error.status] ?? 'Error'}\r\n` +
    (retryAfter === undefined ? '' : `Retry-After: ${retryAfter}\r\n`) +
    'Content-Type: application/json; charset=utf-8\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  );
}

const CLIENT_ERRORS: ErrorTable = {
  ERR_HTTP_REQUEST_TIMEOUT: [
    'REQUEST_TIMEOUT',
    'The request was not sent in time; send the whole request at once',
  ],
  HPE_HEADER_OVERFLOW: ['HEADERS_TOO_LARGE', 'The request headers are too large'],
};

/**
 * Node's `clientError` (a request or its headers too slow, headers too large,
 * bytes that are not HTTP), which no route ever sees: answered in the envelope
 * instead of Node's bare 408/400, then the connection closes. Its request id
 * says that no request (and so no log line) exists for it.
 */
export function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [code, message] = CLIENT_ERRORS[error.code ?? ''] ?? [
    'BAD_REQUEST',
    'The request is not valid HTTP/1.1',
  ];
  if (socket.writable) socket.end(rawErrorResponse(new ApiError(code, message), 'client-error'));
  socket.destroySoon();
}
