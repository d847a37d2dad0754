import { Writable } from 'node:stream';
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, redactQueryValues } from './logger.js';

/** Collects every line a logger writes. */
function capture() {
  const raw: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      raw.push(chunk.toString('utf8'));
      done();
    },
  });
  const lines = () =>
    raw
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { raw, destination, lines };
}

// Written out here, not read from the logger's list: a name dropped from it must fail this test.
const SECRETS = {
  password: 'pw-Correct-Horse-1',
  currentPassword: 'pw-Old-Battery-2',
  newPassword: 'pw-New-Staple-3',
  token: 'tok-4f9a',
  accessToken: 'eyJhbGciOiJFZERTQSJ9.access',
  refreshToken: 'rt-7c1d9e',
  idToken: 'eyJhbGciOiJFZERTQSJ9.id',
  secret: 'sec-very-private',
  clientSecret: 'oidc-client-secret-55',
  key: 'raw-key-material',
  apiKey: 'sk-live-123456',
  privateKey: '-----BEGIN PRIVATE KEY-----abc',
  masterKey: 'master-key-material',
  value: 'vault-plaintext-value',
  code: 'enroll-code-ABCD-EFGH',
  assertion: 'eyJhbGciOiJFZERTQSJ9.assertion',
  auth: 'gateway-auth-block',
};
const HEADERS = {
  authorization: 'Bearer hdr-bearer-token-xyz',
  cookie: 'session=cookie-secret-value',
  'x-api-key': 'hdr-api-key-999',
  'proxy-authorization': 'Basic cHJveHktc2VjcmV0',
};

let closeApp: (() => Promise<unknown>) | undefined;
afterEach(async () => {
  await closeApp?.();
  closeApp = undefined;
});

describe('createLogger', () => {
  it('removes every secret field at any depth down to three levels, and says what service wrote the line', () => {
    const { raw, destination, lines } = capture();
    const log = createLogger({ service: 'multiclaw-test', level: 'info', destination });
    log.info(
      { ...SECRETS, nested: { ...SECRETS }, deeper: { again: { ...SECRETS, further: { ...SECRETS } } } },
      'x',
    );
    const line = lines()[0] as Record<string, Record<string, unknown>> & { service: string; time: string };
    expect(line.service).toBe('multiclaw-test');
    expect(line.time).toMatch(/^\d{4}-\d\d-\d\dT/);
    const deeper = line.deeper as { again: Record<string, unknown> & { further: Record<string, unknown> } };
    for (const field of Object.keys(SECRETS)) {
      expect(line[field], field).toBe('[REDACTED]');
      expect(line.nested?.[field], `nested.${field}`).toBe('[REDACTED]');
      expect(deeper.again[field], `deeper.again.${field}`).toBe('[REDACTED]');
      expect(deeper.again.further[field], `deeper.again.further.${field}`).toBe('[REDACTED]');
    }
    for (const secret of Object.values(SECRETS)) expect(raw.join(''), secret).not.toContain(secret);
  });

  it('logs a Fastify request with its headers, but never a credential header or a query value', async () => {
    const { raw, destination, lines } = capture();
    const app = Fastify({ loggerInstance: createLogger({ level: 'info', destination }) });
    closeApp = () => app.close();
    app.get('/probe', async (request) => {
      request.log.info({ req: request, headers: request.headers }, 'probe');
      return { ok: true };
    });
    const response = await app.inject({
      method: 'GET',
      url: '/probe?code=oidc-code-4242&state=st-9&sk-nameless-secret',
      headers: { ...HEADERS, 'user-agent': 'redaction-test/1.0' },
    });
    expect(response.statusCode).toBe(200);
    const line = lines().find((entry) => entry.msg === 'probe') as {
      req: { url: string; method: string; headers: Record<string, string> };
      headers: Record<string, string>;
    };
    // The request was really logged, headers included: redaction is not just absence.
    expect(line.req.method).toBe('GET');
    expect(line.req.headers['user-agent']).toBe('redaction-test/1.0');
    expect(line.req.url).toBe('/probe?code=[REDACTED]&state=[REDACTED]&[REDACTED]');
    for (const header of Object.keys(HEADERS)) {
      expect(line.req.headers[header], header).toBe('[REDACTED]');
      expect(line.headers[header], header).toBe('[REDACTED]');
    }
    const text = raw.join('');
    for (const secret of [...Object.values(HEADERS), 'oidc-code-4242', 'st-9', 'sk-nameless-secret']) {
      expect(text, secret).not.toContain(secret);
    }
    // Fastify's own request line goes through the same serializer.
    expect(lines().some((entry) => entry.msg === 'incoming request')).toBe(true);
  });

  it('takes its level from LOG_LEVEL unless one is given', () => {
    const before = process.env.LOG_LEVEL;
    process.env.LOG_LEVEL = 'warn';
    try {
      expect(createLogger().level).toBe('warn');
      expect(createLogger({ level: 'debug' }).level).toBe('debug');
      delete process.env.LOG_LEVEL;
      expect(createLogger().level).toBe('info');
    } finally {
      if (before === undefined) delete process.env.LOG_LEVEL;
      else process.env.LOG_LEVEL = before;
    }
  });
});

describe('redactQueryValues', () => {
  it('keeps the path and the parameter names, never a value', () => {
    expect(redactQueryValues('/v1/models')).toBe('/v1/models');
    expect(redactQueryValues('/cb?code=abc&state=def&')).toBe('/cb?code=[REDACTED]&state=[REDACTED]');
    expect(redactQueryValues('/v1/models?token=t0k&x=a=b')).toBe('/v1/models?token=[REDACTED]&x=[REDACTED]');
    expect(redactQueryValues('/v1/models?sk-secret')).toBe('/v1/models?[REDACTED]');
  });
});
