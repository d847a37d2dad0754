import { ApiError } from '@multiclaw/protocol';
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { registerErrorHandling } from './http-errors.js';
import { useZodSchemas, type ZodTypeProvider } from './route-schemas.js';

let apps: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  for (const app of apps) await app.close();
  apps = [];
});

/** A bare Fastify app with our envelope and zod schemas, and one route declaring every part. */
function appWith(answer: (input: { id: string; size: number; name: string }) => unknown) {
  const app = Fastify().withTypeProvider<ZodTypeProvider>();
  apps.push(app);
  registerErrorHandling(app);
  useZodSchemas(app);
  app.post(
    '/things/:id',
    {
      schema: {
        params: z.object({ id: z.string().regex(/^t-/) }),
        querystring: z.object({ size: z.coerce.number().int().default(10) }),
        body: z.strictObject({ name: z.string().trim().min(1) }),
        response: { 200: z.object({ id: z.string(), size: z.number(), name: z.string() }) },
      },
    },
    // `as never`: some tests answer what the schema's type forbids, on purpose.
    async (request) => answer({ ...request.params, ...request.query, ...request.body }) as never,
  );
  return app;
}

describe('routes declaring zod schemas', () => {
  it('hands the handler the parsed values (defaults, coercion, transforms), not what was sent', async () => {
    const app = appWith((input) => input);
    const response = await app.inject({ method: 'POST', url: '/things/t-1', payload: { name: '  box ' } });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ id: 't-1', size: 10, name: 'box' });
  });

  it('refuses each part in the envelope, every issue under its part’s path', async () => {
    const app = appWith((input) => input);
    const body = await app.inject({ method: 'POST', url: '/things/t-1', payload: { name: '', extra: 1 } });
    expect(body.statusCode).toBe(400);
    expect(body.json().error).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(
      body
        .json()
        .error.details.issues.map((issue: { path: string }) => issue.path)
        .sort(),
    ).toEqual(['body', 'body.name']);
    const params = await app.inject({ method: 'POST', url: '/things/x', payload: { name: 'a' } });
    expect(params.json().error.details.issues).toEqual([{ path: 'params.id', message: expect.any(String) }]);
    const query = await app.inject({ method: 'POST', url: '/things/t-1?size=big', payload: { name: 'a' } });
    expect(query.json().error.details.issues).toEqual([{ path: 'query.size', message: expect.any(String) }]);
  });

  it('answers a response that breaks its schema with a 500, never the wrong body; extra fields are dropped', async () => {
    const wrong = appWith(() => ({ id: 't-1', size: 'ten', name: 'box', secret: 's3cr3t' }));
    const response = await wrong.inject({ method: 'POST', url: '/things/t-1', payload: { name: 'box' } });
    expect(response.statusCode).toBe(500);
    expect(response.json().error.code).toBe('INTERNAL');
    expect(response.body).not.toContain('s3cr3t');
    const extra = appWith((input) => ({ ...input, secret: 's3cr3t' }));
    const stripped = await extra.inject({ method: 'POST', url: '/things/t-1', payload: { name: 'box' } });
    expect(stripped.json()).toEqual({ id: 't-1', size: 10, name: 'box' });
  });

  it('lets a scope word its own refusal', async () => {
    const app = Fastify().withTypeProvider<ZodTypeProvider>();
    apps.push(app);
    registerErrorHandling(app);
    useZodSchemas(
      app,
      (issues) => new ApiError('VALIDATION_FAILED', `${issues.length} problem(s)`, { issues }),
    );
    app.post('/', { schema: { body: z.object({ a: z.string(), b: z.string() }) } }, async () => ({}));
    const response = await app.inject({ method: 'POST', url: '/', payload: {} });
    expect(response.json().error).toMatchObject({
      message: '2 problem(s)',
      details: { issues: [{ path: 'a' }, { path: 'b' }] },
    });
  });
});
