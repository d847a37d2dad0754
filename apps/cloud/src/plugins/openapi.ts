import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorCodesOf, errorResponses } from './openapi-errors.js';

/**
 * The docs page reaches nothing but its own origin: swagger-ui's default CSP
 * also allows `validator.swagger.io` images and any `https:` style or font,
 * so every source that names another origin or scheme is dropped, keeping
 * `'self'`, keywords, hashes and `data:`.
 */
export function sameOriginOnly(header: string): string {
  return header
    .split(';')
    .map((directive) => directive.trim())
    .filter(Boolean)
    .map((directive) => {
      const [name, ...sources] = directive.split(/\s+/);
      const kept = sources.filter((source) => /^'.*'$/.test(source) || source === 'data:');
      return [name, ...kept].join(' ');
    })
    .join('; ');
}

/**
 * The OpenAPI document is generated from the zod schemas each route declares;
 * `/openapi.json` serves it and `/docs` renders it with assets served from
 * this server (no CDN).
 */
export const openapiPlugin = fp<{ publicUrl: string }>(
  async (app: FastifyInstance, { publicUrl }) => {
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: { title: 'MultiClaw Cloud API', version: '1.0.0' },
        servers: [{ url: publicUrl }],
        components: {
          securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
        },
      },
      // Each route's error responses are documented from what it declares (openapi-errors.ts).
      transform: (input) => {
        const { schema, route } = input;
        if (!schema || (schema as { hide?: boolean }).hide) return jsonSchemaTransform(input);
        const response = {
          ...errorResponses(errorCodesOf(schema, route.config)),
          ...(schema.response ?? {}),
        };
        return jsonSchemaTransform({ ...input, schema: { ...schema, response } });
      },
    });
    await app.register(swaggerUi, {
      routePrefix: '/docs',
      staticCSP: true,
      transformStaticCSP: sameOriginOnly,
      // The validator badge would fetch from validator.swagger.io.
      uiConfig: { deepLinking: false, validatorUrl: null },
    });
    app.get(
      '/openapi.json',
      { schema: { hide: true, response: { 200: z.record(z.string(), z.unknown()) } } },
      async () => app.swagger() as unknown as Record<string, unknown>,
    );
  },
  { name: 'openapi', dependencies: [] },
);
