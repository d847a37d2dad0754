/**
 * Errors on the OpenAI-compatible routes in OpenAI's shape,
 * `{error: {message, type, param, code}}`, so every OpenAI client reports them
 * as it would OpenAI's own; `code` is our stable code (docs/errors.md) and the
 * status and `retry-after` are the ones every other route would send.
 */
import { type ApiError, ERROR_CODES, type OpenAIErrorBody } from '@multiclaw/protocol';
import type { FastifyInstance } from 'fastify';
import { handleErrors } from './http-errors.js';

/** OpenAI's error `type` vocabulary, by HTTP status. */
function typeOf(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

export function openAIErrorBody(error: ApiError): OpenAIErrorBody {
  return {
    error: {
      message: error.message,
      type: typeOf(ERROR_CODES[error.code].status),
      param: error.details?.issues?.[0]?.path || null,
      code: error.code,
    },
  };
}

/** Installs the OpenAI error shape for every route of `scope`, the guard's refusals included. */
export function useOpenAIErrors(scope: FastifyInstance): void {
  handleErrors(scope, openAIErrorBody);
}
