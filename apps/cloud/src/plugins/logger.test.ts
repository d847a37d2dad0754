import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { useTestApp } from '../../test/support/app.js';

/** A route that logs its whole request body, as a careless handler might. */
const loggingRoute: FastifyPluginAsyncZod = async (app) => {
  app.post('/probe/log', { schema: { body: z.record(z.string(), z.unknown()) } }, async (request) => {
    request.log.info({ body: request.body, req: request }, 'probe body');
    return { ok: true };
  });
};

const AUTHORIZATION = 'Bearer hdr-bearer-token-xyz';

// Every secret field and header, at every depth, is tested where the logger lives
// (packages/runtime/src/logger.test.ts); here, that the app's request lines go through it.
describe('log redaction', () => {
  const ctx = useTestApp({
    beforeReady: async (app) => {
      await app.register(loggingRoute);
    },
  });

  it("passes the app's request lines through the shared redaction", async () => {
    const response = await ctx().app.inject({
      method: 'POST',
      url: '/probe/log',
      headers: { authorization: AUTHORIZATION, 'user-agent': 'redaction-test/1.0' },
      payload: { password: 'pw-Correct-Horse-1', nested: { refreshToken: 'rt-7c1d9e' }, name: 'Ada' },
    });
    expect(response.statusCode).toBe(200);

    const line = ctx().logs.lines.find((l) => l.msg === 'probe body') as {
      service: string;
      body: { password: string; nested: { refreshToken: string }; name: string };
      req: { headers: Record<string, string> };
    };
    expect(line, 'the probe line was logged').toBeDefined();
    expect(line.service).toBe('multiclaw-cloud');
    // The request was really logged, headers included: redaction is not just absence.
    expect(line.req.headers['user-agent']).toBe('redaction-test/1.0');
    expect(line.body.name).toBe('Ada');
    expect(line.req.headers.authorization).toBe('[REDACTED]');
    expect(line.body.password).toBe('[REDACTED]');
    expect(line.body.nested.refreshToken).toBe('[REDACTED]');
    const log = ctx().logs.raw.join('');
    for (const secret of ['hdr-bearer-token-xyz', 'pw-Correct-Horse-1', 'rt-7c1d9e']) {
      expect(log, `log leaks ${secret}`).not.toContain(secret);
    }
  });

  it('logs query parameter names but never their values', async () => {
    const response = await ctx().app.inject({
      method: 'GET',
      url: '/healthz?code=oidc-code-4242&state=st-9&limit=5',
    });
    const line = ctx().logs.lines.find((l) => l.requestId === response.headers['x-request-id'] && l.req) as {
      req: { url: string };
    };
    expect(line.req.url).toBe('/healthz?code=[REDACTED]&state=[REDACTED]&limit=[REDACTED]');
    const log = ctx().logs.raw.join('');
    expect(log).not.toContain('oidc-code-4242');
    expect(log).not.toContain('st-9');
  });

  it('carries the request id on every line of a request', async () => {
    const response = await ctx().app.inject({ method: 'GET', url: '/healthz' });
    const id = response.headers['x-request-id'];
    const lines = ctx().logs.lines.filter((l) => l.requestId === id);
    expect(lines.map((l) => l.msg)).toEqual(['incoming request', 'request completed']);
  });
});
