import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';
import { z } from 'zod';

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
      transform: jsonSchemaTransform,
    });
    await app.register(swaggerUi, {
      routePrefix: '/docs',
      staticCSP: true,
      uiConfig: { deepLinking: false },
    });
    app.get(
      '/openapi.json',
      { schema: { hide: true, response: { 200: z.record(z.string(), z.unknown()) } } },
      async () => app.swagger() as unknown as Record<string, unknown>,
    );
  },
  { name: 'openapi', dependencies: [] },
);
