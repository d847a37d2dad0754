import { ApiError, issuesOf, type ValidationIssue } from '@multiclaw/protocol';
import type {
  FastifyInstance,
  FastifySchemaCompiler,
  FastifySerializerCompiler,
  FastifyServerOptions,
  FastifyTypeProvider,
} from 'fastify';
import type { z } from 'zod';

/**
 * Routes declare zod schemas from @multiclaw/protocol (`schema: { body,
 * params, response }`), as the cloud's do. The cloud compiles them with
 * fastify-type-provider-zod; the gateway does not take that package, whose
 * required peers (@fastify/swagger, openapi-types) would ship in a local daemon
 * that serves no OpenAPI document. These few lines do the same job.
 */
export interface ZodTypeProvider extends FastifyTypeProvider {
  validator: this['schema'] extends z.ZodType ? z.output<this['schema']> : unknown;
  serializer: this['schema'] extends z.ZodType ? z.input<this['schema']> : unknown;
}

/** How a scope words a refused request part; its error handler gives the answer its shape. */
export type Refusal = (issues: ValidationIssue[], part: string) => ApiError;

/** Our envelope's refusal: every issue, its path starting with the part (`body.name`, `params.id`). */
export const refuseInvalidRequest: Refusal = (issues, part) =>
  new ApiError('VALIDATION_FAILED', 'The request is invalid', {
    issues: issues.map((issue) => ({
      path: [part, issue.path].filter(Boolean).join('.'),
      message: issue.message,
    })),
  });

/** Validates each declared request part; the parsed value replaces what was sent. */
export function zodValidatorCompiler(refusal: Refusal): FastifySchemaCompiler<z.ZodType> {
  return ({ schema, httpPart }) =>
    (data) => {
      const parsed = schema.safeParse(data);
      if (parsed.success) return { value: parsed.data };
      return {
        error: refusal(issuesOf(parsed.error), httpPart === 'querystring' ? 'query' : (httpPart ?? 'body')),
      };
    };
}

/** A response that does not match its declared schema is a bug: a 500, never a wrong body. */
export const zodSerializerCompiler: FastifySerializerCompiler<z.ZodType> =
  ({ schema, method, url }) =>
  (data) => {
    const parsed = schema.safeParse(data);
    if (!parsed.success) {
      throw new Error(`The response of ${method} ${url} does not match its schema: ${parsed.error.message}`);
    }
    return JSON.stringify(parsed.data);
  };

/**
 * Fastify's `schemaController` option: its default compilers (ajv, fast-json-stringify) are
 * loaded when the instance is built unless the factories are given, ~25 ms of the gateway's
 * start for compilers no route uses (bench/gateway).
 */
export const zodSchemaController: FastifyServerOptions['schemaController'] = {
  // Fastify types the factories for JSON schemas; every route here declares zod schemas.
  compilersFactory: {
    buildValidator: (() =>
      zodValidatorCompiler(refuseInvalidRequest)) as unknown as CompilersFactory['buildValidator'],
    buildSerializer: (() => zodSerializerCompiler) as unknown as CompilersFactory['buildSerializer'],
  },
};
type CompilersFactory = NonNullable<
  NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']
>;

/** Every route of `app` (and of its child scopes unless they set their own) compiles zod schemas. */
export function useZodSchemas(app: FastifyInstance, refusal: Refusal = refuseInvalidRequest): void {
  app.setValidatorCompiler(zodValidatorCompiler(refusal));
  app.setSerializerCompiler(zodSerializerCompiler);
}
