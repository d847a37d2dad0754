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

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error, request, reply) => {
    const apiError = toApiError(error);
    if (apiError.code === 'INTERNAL') request.log.error({ err: error }, 'unhandled error');
    const retryAfter = apiError.details?.retryAfterSeconds;
    if (retryAfter !== undefined) reply.header('retry-after', String(retryAfter));
    return reply.status(ERROR_CODES[apiError.code].status).send(apiError.toEnvelope(request.id));
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send(new ApiError('NOT_FOUND', 'No such route').toEnvelope(request.id)),
  );
}
