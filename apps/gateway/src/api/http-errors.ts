import type { Socket } from 'node:net';
import { ApiError, ERROR_CODES } from '@multiclaw/protocol';
import type { FastifyError, FastifyInstance } from 'fastify';

/** Maps anything thrown in a route to the one error envelope, with the right status. Never a stack. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  const fastifyError = error as Partial<FastifyError>;
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError('PAYLOAD_TOO_LARGE', 'The request body is too large');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError('UNSUPPORTED_MEDIA_TYPE', 'Send the body as application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ApiError('BAD_REQUEST', 'The JSON body is empty');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new ApiError('MALFORMED_JSON', 'The request body is not valid JSON');
  }
  if (error instanceof SyntaxError && fastifyError.statusCode === 400) {
    return new ApiError('MALFORMED_JSON', 'The request body is not valid JSON');
  }
  return new ApiError('INTERNAL', 'Something went wrong in the gateway');
}

/**
 * Installs the one error handler of a scope: every error becomes an ApiError
 * (logged when unexpected, `retry-after` from its details), sent in the body
 * shape the scope speaks — our envelope, or OpenAI's on its compatible routes.
 */
export function handleErrors(
  scope: FastifyInstance,
  body: (error: ApiError, requestId: string) => unknown,
): void {
  scope.setErrorHandler((error, request, reply) => {
    const apiError = toApiError(error);
    if (apiError.code === 'INTERNAL') request.log.error({ err: error }, 'unhandled error');
    const retryAfter = apiError.details?.retryAfterSeconds;
    if (retryAfter !== undefined) reply.header('retry-after', String(retryAfter));
    return reply.status(ERROR_CODES[apiError.code].status).send(body(apiError, request.id));
  });
}

export function registerErrorHandling(app: FastifyInstance): void {
  handleErrors(app, (error, requestId) => error.toEnvelope(requestId));
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send(new ApiError('NOT_FOUND', 'No such route').toEnvelope(request.id)),
  );
}

/** Reason phrases of the statuses answered on a raw socket (only node:http's listener may import it). */
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
 * answer on the raw socket (refused upgrades, connection limits, client
 * errors): the same envelope as every route's, and the connection closes.
 */
export function rawErrorResponse(error: ApiError, requestId: string): string {
  const status = ERROR_CODES[error.code].status;
  const body = JSON.stringify(error.toEnvelope(requestId));
  const retryAfter = error.details?.retryAfterSeconds;
  return (
    `HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\n` +
    (retryAfter === undefined ? '' : `Retry-After: ${retryAfter}\r\n`) +
    `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  );
}

/**
 * Node's `clientError` (headers too slow, too large, unparseable): answered in
 * the envelope instead of Node's bare 408/400 or Fastify's own JSON shape.
 */
export function onClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const apiError =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? new ApiError('REQUEST_TIMEOUT', 'The request was not sent in time; send the whole request at once')
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? new ApiError('HEADERS_TOO_LARGE', 'The request headers are too large')
        : new ApiError('BAD_REQUEST', 'The request is not valid HTTP/1.1');
  if (socket.writable) socket.end(rawErrorResponse(apiError, 'client-error'));
  socket.destroySoon();
}
