import { ApiError } from '@multiclaw/protocol';
import { createErrorHandling } from '@multiclaw/runtime/http-errors';
import type { FastifyError, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';

/**
 * The cloud's part of the shared error handling (@multiclaw/runtime/http-errors):
 * its own library errors, its schema validation errors, and its words.
 */
const errors = createErrorHandling({
  knownErrors: {
    // The password hashing queue is full (modules/identity/passwords/hashing.ts): shed load.
    PASSWORD_HASHER_BUSY: ['SERVICE_UNAVAILABLE', 'The server is busy; try again in a moment'],
    // Prisma: the row to read, update or delete is gone. Authorisation ran before, so this is a
    // concurrent deletion (a workspace, an account) winning the race: the answer is what a
    // request arriving a moment later would get.
    P2025: ['NOT_FOUND', 'It no longer exists'],
  },
  recognise(error) {
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
    // A response that does not match its schema is our bug, whatever status it carries.
    if (isResponseSerializationError(error)) return new ApiError('INTERNAL', 'Internal server error');
    return undefined;
  },
  internalMessage: 'Internal server error',
  notFoundMessage: 'No route matches this request',
  defaultRetryAfterSeconds: { RATE_LIMITED: 60, SERVICE_UNAVAILABLE: 1 },
});

export const { answerFrameworkError } = errors;

/** The one place errors leave the server: always the envelope, never a stack. */
export const errorsPlugin = fp(
  async (app: FastifyInstance) => {
    errors.handleErrors(app);
    errors.handleNotFound(app);
  },
  { name: 'errors' },
);
