import { describe, expect, it } from 'vitest';
import { useTestApp } from '../../../test/support/app.js';
import { renderSecurityTxt } from './routes.js';

const fixedNow = new Date('2026-11-24T10:00:00Z');

describe('security.txt (RFC 9116)', () => {
  const ctx = useTestApp({
    env: { SECURITY_CONTACT: 'mailto:security@multiclaw.test', PUBLIC_URL: 'https://cloud.multiclaw.test' },
    now: () => fixedNow,
  });

  it('serves the contact from config, an Expires under a year away, and its canonical URL', async () => {
    const response = await ctx().app.inject({ method: 'GET', url: '/.well-known/security.txt' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(response.body).toBe(
      [
        'Contact: mailto:security@multiclaw.test',
        'Expires: 2027-05-23T00:00:00.000Z',
        'Preferred-Languages: en',
        'Canonical: https://cloud.multiclaw.test/.well-known/security.txt',
        '',
      ].join('\n'),
    );
  });

  it('keeps Expires within a year whatever the date', () => {
    const text = renderSecurityTxt({
      contact: 'mailto:a@b.c',
      publicUrl: 'https://x',
      now: new Date('2030-02-28T23:59:59Z'),
    });
    const expires = new Date(/Expires: (.+)/.exec(text)?.[1] ?? '');
    const days = (expires.getTime() - Date.parse('2030-02-28T23:59:59Z')) / 86_400_000;
    expect(days).toBeGreaterThan(170);
    expect(days).toBeLessThan(365);
  });
});

describe('OpenAPI', () => {
  const ctx = useTestApp();

  it('generates the document from the route schemas', async () => {
    const response = await ctx().app.inject({ method: 'GET', url: '/openapi.json' });
    expect(response.statusCode).toBe(200);
    const doc = response.json();
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/healthz', '/readyz', '/.well-known/security.txt']),
    );
    expect(doc.paths['/healthz'].get.responses['200'].content['application/json'].schema).toMatchObject({
      type: 'object',
      properties: { status: { type: 'string', enum: ['ok'] } },
    });
    expect(doc.paths['/openapi.json']).toBeUndefined();
  });

  it('serves the docs UI with its assets from this server', async () => {
    const page = await ctx().app.inject({ method: 'GET', url: '/docs/' });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('swagger-ui');
    const scripts = [...page.body.matchAll(/src="([^"]+\.js)"/g)].map((m) => m[1] as string);
    expect(scripts.length).toBeGreaterThan(0);
    for (const src of scripts) {
      expect(src, 'no CDN').not.toMatch(/^https?:/);
      const asset = await ctx().app.inject({ method: 'GET', url: new URL(src, 'http://x/docs/').pathname });
      expect(asset.statusCode, src).toBe(200);
    }
  });
});
