import { ApiError } from '@multiclaw/protocol';
import type {
  FastifyInstance,
  FastifySchema,
  FastifySchemaCompiler,
  FastifySchemaValidationError,
} from 'fastify';
import fp from 'fastify-plugin';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';

/** Where the first U+0000 in a parsed value is, as a dotted path; undefined when there is none. */
export function nulCharacterPath(value: unknown, path: string[] = []): string[] | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path : undefined;
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = nulCharacterPath(item, [...path, String(index)]);
      if (found) return found;
    }
    return undefined;
  }
  if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (key.includes('\u0000')) return [...path, key];
      const found = nulCharacterPath(item, [...path, key]);
      if (found) return found;
    }
  }
  return undefined;
}

const PART_NAMES: Record<string, string> = { querystring: 'query' };

/**
 * The zod validator of every route, plus one rule no schema has to repeat:
 * no string anywhere in a request may hold U+0000. PostgreSQL's text types
 * cannot store it, so without this check any such string became a 500 at the
 * first insert; here it is a 400 that names the field.
 */
export const inputValidatorCompiler: FastifySchemaCompiler<FastifySchema> = (route) => {
  const validate = validatorCompiler(route as Parameters<typeof validatorCompiler>[0]);
  const part = PART_NAMES[route.httpPart ?? ''] ?? route.httpPart ?? 'body';
  return (data: unknown) => {
    const result = validate(data) as { value?: unknown; error?: Error | FastifySchemaValidationError[] };
    if (result.error) return result;
    const nulAt = nulCharacterPath(result.value);
    if (!nulAt) return result;
    return {
      error: new ApiError('VALIDATION_FAILED', 'The request is invalid', {
        issues: [
          { path: [part, ...nulAt].join('.'), message: 'must not contain the NUL character (U+0000)' },
        ],
      }),
    };
  };
};

/** Every route's input validator (above) and zod's response serializer, for the whole app. */
export const validationPlugin = fp(
  async (app: FastifyInstance) => {
    app.setValidatorCompiler(inputValidatorCompiler);
    app.setSerializerCompiler(serializerCompiler);
  },
  { name: 'validation' },
);
