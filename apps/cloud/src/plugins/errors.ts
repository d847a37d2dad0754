import { ApiError, type ErrorCode } from '@multiclaw/protocol';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';

/** Known library errors (by their `code`), mapped to our stable codes and safe messages. */
const KNOWN_ERRORS: Record<string, [ErrorCode, string]> = {
  // The password hashing queue is full (modules/identity/passwords/hashing.ts): shed load.
  PASSWORD_HASHER_BUSY: ['SERVICE_UNAVAILABLE', 'The server is busy; try again in a moment'],
  FST_ERR_CTP_INVALID_JSON_BODY: ['MALFORMED_JSON', 'The request body is not valid JSON'],
  FST_ERR_CTP_EMPTY_JSON_BODY: ['BAD_REQUEST', 'The request body is empty but declares JSON'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ['UNSUPPORTED_MEDIA_TYPE', 'The request body must be application/json'],
  FST_ERR_CTP_BODY_TOO_LARGE: ['PAYLOAD_TOO_LARGE', 'The request body is too large'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ['BAD_REQUEST', 'Content-Length does not match the body'],
  // Prisma: the row to read, update or delete is gone. Authorisation ran before, so this is a
  // concurrent deletion (a workspace, an account) winning the race: the answer is what a
  // request arriving a moment later would get.
  P2025: ['NOT_FOUND', 'It no longer exists'],
};

const STATUS_FALLBACK: Record<number, [ErrorCode, string]> = {
  400: ['BAD_REQUEST', 'The request is malformed'],
  404: ['NOT_FOUND', 'Not found'],
  405: ['METHOD_NOT_ALLOWED', 'Method not allowed'],
  413: ['PAYLOAD_TOO_LARGE', 'The request body is too large'],
  415: ['UNSUPPORTED_MEDIA_TYPE', 'Unsupported media type'],
  429: ['RATE_LIMITED', 'Too many requests'],
  503: ['SERVICE_UNAVAILABLE', 'Service unavailable'],
};

/** Turns anything thrown into an ApiError whose message is safe to show. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (!(error instanceof Error)) return new ApiError('INTERNAL', 'Internal server error');
  if (hasZodFastifySchemaValidationErrors(error)) {
    const context = (error as FastifyError).validationContext ?? 'body';
    const scope = context === 'querystring' ? 'query' : context;
    return new ApiError('VALIDATION_FAILED', 'The request is invalid', {
      issues: error.validation.map((issue) => ({
        path: [scope, ...issue.instancePath.split('/').filter(Boolean)].join('.'),
        message: issue.message ?? 'is invalid',
      })),
    });
  }
  const code = 'code' in error && typeof error.code === 'string' ? error.code : undefined;
  const known = code ? KNOWN_ERRORS[code] : undefined;
  if (known) return new ApiError(known[0], known[1]);
  const status = 'statusCode' in error && typeof error.statusCode === 'number' ? error.statusCode : undefined;
  const fallback = status === undefined ? undefined : STATUS_FALLBACK[status];
  if (fallback && !isResponseSerializationError(error)) return new ApiError(fallback[0], fallback[1]);
  return new ApiError('INTERNAL', 'Internal server error');
}

/**
 * Errors Fastify raises before routing, which never reach the error handler:
 * a path that is not valid percent-encoded UTF-8 (FST_ERR_BAD_URL), a failed
 * route constraint. Answered in the envelope like everything else.
 */
export function answerFrameworkError(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  const apiError =
    error.code === 'FST_ERR_BAD_URL'
      ? new ApiError('BAD_REQUEST', 'The request path is not valid percent-encoded UTF-8')
      : toApiError(error);
  request.log.info({ errorCode: apiError.code }, 'request refused');
  reply.status(apiError.status).send(apiError.toEnvelope(request.id));
}

/** The one place errors leave the server: always the envelope, never a stack. */
export const errorsPlugin = fp(
  async (app: FastifyInstance) => {
    app.setErrorHandler((error, request, reply) => {
      const apiError = toApiError(error);
      if (apiError.status >= 500)
        request.log.error({ err: error, errorCode: apiError.code }, 'request failed');
      else request.log.info({ errorCode: apiError.code }, 'request refused');
      const retryAfter = apiError.details?.retryAfterSeconds;
      if (retryAfter !== undefined && !reply.hasHeader('retry-after'))
        reply.header('retry-after', String(retryAfter));
      if (apiError.code === 'RATE_LIMITED' && !reply.hasHeader('retry-after'))
        reply.header('retry-after', '60');
      if (apiError.code === 'SERVICE_UNAVAILABLE' && !reply.hasHeader('retry-after'))
        reply.header('retry-after', '1');
      return reply.status(apiError.status).send(apiError.toEnvelope(request.id));
    });

    app.setNotFoundHandler((request, reply) =>
      reply
        .status(404)
        .send(new ApiError('NOT_FOUND', 'No route matches this request').toEnvelope(request.id)),
    );
  },
  { name: 'errors' },
);
