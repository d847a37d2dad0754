import { ERROR_CODES, type ErrorCode, ErrorEnvelope } from '@multiclaw/protocol';
import type { FastifySchema, RouteOptions } from 'fastify';
import { z } from 'zod';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Error codes a route answers beyond those derived from its shape (documented in /openapi.json). */
    errors?: readonly ErrorCode[];
  }
}

/** Every route can answer these: the server's own trouble, and a request that arrived too slowly. */
const ALWAYS: readonly ErrorCode[] = ['REQUEST_TIMEOUT', 'INTERNAL', 'SERVICE_UNAVAILABLE'];
const WITH_BODY: readonly ErrorCode[] = [
  'VALIDATION_FAILED',
  'MALFORMED_JSON',
  'BAD_REQUEST',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
];

/**
 * The error codes a route can answer, derived from what it declares: input
 * schemas (400s), a bearer requirement (401), a workspace action (404 for a
 * workspace the caller is not in, 403 for a role that may not), a rate-limit
 * budget (429), plus any codes it lists in `config.errors`.
 */
export function errorCodesOf(schema: FastifySchema, config: RouteOptions['config']): ErrorCode[] {
  const codes = new Set<ErrorCode>(ALWAYS);
  if (schema.body) for (const code of WITH_BODY) codes.add(code);
  if (schema.params || schema.querystring) codes.add('VALIDATION_FAILED');
  // A path value that is not valid percent-encoded UTF-8 is refused before routing.
  if (schema.params) codes.add('BAD_REQUEST');
  if ((schema as { security?: unknown[] }).security?.length) codes.add('UNAUTHENTICATED');
  const routeConfig = (config ?? {}) as { action?: unknown; rateLimit?: unknown; errors?: ErrorCode[] };
  if (routeConfig.action !== undefined) {
    codes.add('NOT_FOUND');
    codes.add('FORBIDDEN');
  }
  if (routeConfig.rateLimit !== undefined) codes.add('RATE_LIMITED');
  for (const code of routeConfig.errors ?? []) codes.add(code);
  return [...codes];
}

/** One response per HTTP status: the error envelope, its `code` limited to that status's codes. */
export function errorResponses(codes: readonly ErrorCode[]): Record<number, z.ZodType> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const { status } = ERROR_CODES[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const responses: Record<number, z.ZodType> = {};
  for (const [status, statusCodes] of [...byStatus].sort(([a], [b]) => a - b)) {
    const sorted = statusCodes.sort();
    responses[status] = ErrorEnvelope.extend({
      error: ErrorEnvelope.shape.error.extend({ code: z.enum(sorted as [ErrorCode, ...ErrorCode[]]) }),
    }).describe(
      `Error envelope; \`error.code\` is one of: ${sorted.map((code) => `\`${code}\``).join(', ')} (docs/errors.md)`,
    );
  }
  return responses;
}
