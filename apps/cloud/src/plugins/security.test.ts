import { describe, expect, it } from 'vitest';
import { useTestApp } from '../../test/support/app.js';

describe('security headers and CORS', () => {
  const ctx = useTestApp({ env: { CORS_ORIGINS: 'https://desktop.multiclaw.test' } });

  it('sets security headers on every response, errors included', async () => {
    for (const url of ['/healthz', '/no-such-route']) {
      const { headers } = await ctx().app.inject({ method: 'GET', url });
      expect(headers['content-security-policy'], url).toContain("default-src 'none'");
      expect(headers['content-security-policy'], url).toContain("frame-ancestors 'none'");
      expect(headers['x-content-type-options'], url).toBe('nosniff');
      expect(headers['x-frame-options'], url).toBe('SAMEORIGIN');
      expect(headers['strict-transport-security'], url).toContain('max-age=31536000');
      expect(headers['referrer-policy'], url).toBe('no-referrer');
      expect(headers['x-powered-by'], url).toBeUndefined();
    }
  });

  it('allows exactly the configured origin, without credentials', async () => {
    const { headers } = await ctx().app.inject({
      method: 'GET',
      url: '/healthz',
      headers: { origin: 'https://desktop.multiclaw.test' },
    });
    expect(headers['access-control-allow-origin']).toBe('https://desktop.multiclaw.test');
    expect(headers['access-control-allow-credentials']).toBeUndefined();
  });

  it('gives a foreign origin no CORS grant, on simple requests and preflights', async () => {
    for (const origin of ['https://evil.example', 'https://desktop.multiclaw.test.evil.example', 'null']) {
      const simple = await ctx().app.inject({ method: 'GET', url: '/healthz', headers: { origin } });
      expect(simple.headers['access-control-allow-origin'], origin).toBeUndefined();
      const preflight = await ctx().app.inject({
        method: 'OPTIONS',
        url: '/healthz',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization',
        },
      });
      expect(preflight.headers['access-control-allow-origin'], origin).toBeUndefined();
      expect(preflight.headers['access-control-allow-methods'], origin).toBeUndefined();
    }
  });

  it('answers an allowed preflight', async () => {
    const preflight = await ctx().app.inject({
      method: 'OPTIONS',
      url: '/healthz',
      headers: {
        origin: 'https://desktop.multiclaw.test',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type',
      },
    });
    expect(preflight.statusCode).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe('https://desktop.multiclaw.test');
    expect(preflight.headers['access-control-allow-headers']).toContain('authorization');
  });
});
