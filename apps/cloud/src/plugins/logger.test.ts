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

const SECRETS = {
  password: 'pw-Correct-Horse-1',
  currentPassword: 'pw-Old-Battery-2',
  newPassword: 'pw-New-Staple-3',
  token: 'tok-4f9a',
  accessToken: 'eyJhbGciOiJFZERTQSJ9.access',
  refreshToken: 'rt-7c1d9e',
  secret: 'sec-very-private',
  clientSecret: 'oidc-client-secret-55',
  apiKey: 'sk-live-123456',
  privateKey: '-----BEGIN PRIVATE KEY-----abc',
  key: 'raw-key-material',
  value: 'vault-plaintext-value',
  code: 'enroll-code-ABCD-EFGH',
  assertion: 'eyJhbGciOiJFZERTQSJ9.assertion',
};
const AUTHORIZATION = 'Bearer hdr-bearer-token-xyz';
const COOKIE = 'session=cookie-secret-value';

describe('log redaction', () => {
  const ctx = useTestApp({
    beforeReady: async (app) => {
      await app.register(loggingRoute);
    },
  });

  it('removes every secret field and credential header from the log, at any depth', async () => {
    const response = await ctx().app.inject({
      method: 'POST',
      url: '/probe/log',
      headers: {
        authorization: AUTHORIZATION,
        cookie: COOKIE,
        'x-api-key': 'hdr-api-key-999',
        'user-agent': 'redaction-test/1.0',
      },
      payload: { ...SECRETS, nested: { ...SECRETS }, deeper: { again: { ...SECRETS } } },
    });
    expect(response.statusCode).toBe(200);

    const log = ctx().logs.raw.join('');
    const line = ctx().logs.lines.find((l) => l.msg === 'probe body') as {
      body: Record<string, unknown> & {
        nested: Record<string, unknown>;
        deeper: { again: Record<string, unknown> };
      };
      req: { headers: Record<string, string> };
    };
    expect(line, 'the probe line was logged').toBeDefined();
    // The request was really logged, headers included: redaction is not just absence.
    expect(line.req.headers['user-agent']).toBe('redaction-test/1.0');
    expect(line.req.headers.authorization).toBe('[REDACTED]');
    expect(line.req.headers.cookie).toBe('[REDACTED]');
    for (const field of Object.keys(SECRETS)) {
      expect(line.body[field], field).toBe('[REDACTED]');
      expect(line.body.nested[field], `nested.${field}`).toBe('[REDACTED]');
      expect(line.body.deeper.again[field], `deeper.again.${field}`).toBe('[REDACTED]');
    }
    for (const secret of [
      ...Object.values(SECRETS),
      AUTHORIZATION,
      'hdr-bearer-token-xyz',
      'cookie-secret-value',
      'hdr-api-key-999',
    ]) {
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
