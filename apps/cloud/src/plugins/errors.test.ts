import { ApiError, ErrorEnvelope } from '@multiclaw/protocol';
import type { InjectOptions } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { useTestApp } from '../../test/support/app.js';
import { PasswordHasherBusyError } from '../modules/identity/passwords/hashing.js';

const probeRoutes: FastifyPluginAsyncZod = async (app) => {
  app.post(
    '/probe/:id',
    {
      schema: {
        params: z.object({ id: z.uuid() }),
        querystring: z.object({ dryRun: z.enum(['true', 'false']).optional() }),
        body: z.object({ email: z.email(), profile: z.object({ age: z.number().int().min(0) }) }),
        response: { 200: z.object({ ok: z.literal(true) }) },
      },
    },
    async () => ({ ok: true as const }),
  );
  app.get('/probe/crash', async () => {
    throw new Error('connect ECONNREFUSED 10.0.0.7:5432 at /srv/secret/path.ts:12');
  });
  app.get('/probe/busy', async () => {
    throw new PasswordHasherBusyError();
  });
  // A row the request was allowed to use is deleted by a concurrent request before it is used.
  app.get('/probe/vanished', async (request) => {
    await request.server.db.workspace.update({ where: { id }, data: { name: 'gone' } });
  });
  app.get('/probe/refuse', async () => {
    throw new ApiError('NOT_FOUND', 'No such widget');
  });
  app.get('/probe/bad-response', { schema: { response: { 200: z.object({ n: z.number() }) } } }, async () => {
    return { n: 'not a number' } as unknown as { n: number };
  });
};

const id = '0b0c6f59-0a55-4f4f-9c0e-8d7f1c2b3a41';
const goodBody = { email: 'ada@example.com', profile: { age: 36 } };

describe('error envelope', () => {
  const ctx = useTestApp({
    beforeReady: async (app) => {
      await app.register(probeRoutes);
    },
  });

  async function send(options: InjectOptions) {
    const response = await ctx().app.inject(options);
    return { response, body: response.json() };
  }

  function expectEnvelope(body: unknown, code: string, requestId: unknown) {
    const parsed = ErrorEnvelope.parse(body);
    expect(parsed.error.code).toBe(code);
    expect(parsed.error.requestId).toBe(requestId);
    expect(JSON.stringify(body)).not.toMatch(/stack|at \/|\.ts:\d/);
  }

  it('accepts a valid request (the control case)', async () => {
    const { response, body } = await send({ method: 'POST', url: `/probe/${id}`, payload: goodBody });
    expect(response.statusCode).toBe(200);
    expect(body).toEqual({ ok: true });
  });

  it('invalid input → 400 VALIDATION_FAILED with the field paths', async () => {
    const { response, body } = await send({
      method: 'POST',
      url: `/probe/${id}`,
      payload: { email: 'not-an-email', profile: { age: -1 } },
    });
    expect(response.statusCode).toBe(400);
    expectEnvelope(body, 'VALIDATION_FAILED', response.headers['x-request-id']);
    const paths = (body.error.details.issues as Array<{ path: string }>).map((i) => i.path).sort();
    expect(paths).toEqual(['body.email', 'body.profile.age']);
  });

  it('invalid params and query are reported with their location', async () => {
    const params = await send({ method: 'POST', url: '/probe/not-a-uuid', payload: goodBody });
    expect(params.response.statusCode).toBe(400);
    expect(params.body.error.details.issues[0].path).toBe('params.id');
    const query = await send({ method: 'POST', url: `/probe/${id}?dryRun=maybe`, payload: goodBody });
    expect(query.response.statusCode).toBe(400);
    expect(query.body.error.details.issues[0].path).toBe('query.dryRun');
  });

  it('malformed JSON → 400 MALFORMED_JSON', async () => {
    const { response, body } = await send({
      method: 'POST',
      url: `/probe/${id}`,
      headers: { 'content-type': 'application/json' },
      payload: '{"email": "ada@example.com",',
    });
    expect(response.statusCode).toBe(400);
    expectEnvelope(body, 'MALFORMED_JSON', response.headers['x-request-id']);
  });

  it('empty JSON body → 400 BAD_REQUEST', async () => {
    const { response, body } = await send({
      method: 'POST',
      url: `/probe/${id}`,
      headers: { 'content-type': 'application/json' },
      payload: '',
    });
    expect(response.statusCode).toBe(400);
    expectEnvelope(body, 'BAD_REQUEST', response.headers['x-request-id']);
  });

  it('wrong content type → 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    const { response, body } = await send({
      method: 'POST',
      url: `/probe/${id}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'email=ada%40example.com',
    });
    expect(response.statusCode).toBe(415);
    expectEnvelope(body, 'UNSUPPORTED_MEDIA_TYPE', response.headers['x-request-id']);
  });

  it('body over the limit → 413 PAYLOAD_TOO_LARGE', async () => {
    const limit = ctx().config.bodyLimitBytes;
    const { response, body } = await send({
      method: 'POST',
      url: `/probe/${id}`,
      payload: { ...goodBody, padding: 'x'.repeat(limit) },
    });
    expect(response.statusCode).toBe(413);
    expectEnvelope(body, 'PAYLOAD_TOO_LARGE', response.headers['x-request-id']);
  });

  it('unknown route → 404 NOT_FOUND', async () => {
    const { response, body } = await send({ method: 'GET', url: '/v1/nothing-here' });
    expect(response.statusCode).toBe(404);
    expectEnvelope(body, 'NOT_FOUND', response.headers['x-request-id']);
  });

  it('a full password-hashing queue → 503 SERVICE_UNAVAILABLE with Retry-After', async () => {
    const { response, body } = await send({ method: 'GET', url: '/probe/busy' });
    expect(response.statusCode).toBe(503);
    expectEnvelope(body, 'SERVICE_UNAVAILABLE', response.headers['x-request-id']);
    expect(response.headers['retry-after']).toBe('1');
  });

  it('a row that vanished under a concurrent request → 404 NOT_FOUND, not a 500', async () => {
    const { response, body } = await send({ method: 'GET', url: '/probe/vanished' });
    expect(response.statusCode).toBe(404);
    expectEnvelope(body, 'NOT_FOUND', response.headers['x-request-id']);
  });

  it('a thrown ApiError keeps its code and message', async () => {
    const { response, body } = await send({ method: 'GET', url: '/probe/refuse' });
    expect(response.statusCode).toBe(404);
    expect(body.error.message).toBe('No such widget');
  });

  it('unexpected error → 500 INTERNAL with a request id and no internals; the log keeps the detail', async () => {
    const { response, body } = await send({ method: 'GET', url: '/probe/crash' });
    expect(response.statusCode).toBe(500);
    expectEnvelope(body, 'INTERNAL', response.headers['x-request-id']);
    expect(body.error.message).toBe('Internal server error');
    expect(response.body).not.toContain('ECONNREFUSED');
    expect(response.body).not.toContain('10.0.0.7');
    const logged = ctx().logs.lines.find(
      (line) => line.requestId === response.headers['x-request-id'] && line.level === 50,
    );
    expect(JSON.stringify(logged)).toContain('ECONNREFUSED');
  });

  it('a response that breaks its own schema is a 500, not leaked data', async () => {
    const { response, body } = await send({ method: 'GET', url: '/probe/bad-response' });
    expect(response.statusCode).toBe(500);
    expectEnvelope(body, 'INTERNAL', response.headers['x-request-id']);
    expect(response.body).not.toContain('not a number');
  });

  it('gives every request its own id and ignores a client-chosen one', async () => {
    const first = await send({ method: 'GET', url: '/nope', headers: { 'x-request-id': 'forged\nline' } });
    const second = await send({ method: 'GET', url: '/nope' });
    expect(first.body.error.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(first.body.error.requestId).not.toBe(second.body.error.requestId);
  });
});
