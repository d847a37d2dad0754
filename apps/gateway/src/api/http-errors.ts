import { createErrorHandling } from '@multiclaw/runtime/http-errors';
import type { FastifyInstance } from 'fastify';

export { answerClientError as onClientError, rawErrorResponse } from '@multiclaw/runtime/http-errors';

/** The gateway's words in the shared error handling (@multiclaw/runtime/http-errors). */
const errors = createErrorHandling({
  internalMessage: 'Something went wrong in the gateway',
  notFoundMessage: 'No such route',
});

/** Installs a scope's error handler with the body shape it speaks: our envelope, or OpenAI's on its routes. */
export const { handleErrors } = errors;

/** For Fastify's `frameworkErrors`: what is refused before routing (a malformed path) gets the envelope too. */
export const { answerFrameworkError } = errors;

export function registerErrorHandling(app: FastifyInstance): void {
  errors.handleErrors(app);
  errors.handleNotFound(app);
}
