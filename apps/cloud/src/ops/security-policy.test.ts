import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderSecurityTxt } from '../modules/meta/routes.js';

/** SECURITY.md describes the security.txt the cloud serves: the same fields, the same rolling expiry. */
describe('SECURITY.md matches /.well-known/security.txt', () => {
  const policy = readFileSync(new URL('../../../../SECURITY.md', import.meta.url), 'utf8');
  const now = new Date('2026-12-01T15:30:00.000Z');
  const txt = renderSecurityTxt({
    contact: 'mailto:sec@example.com',
    publicUrl: 'https://cloud.example.com',
    now,
  });

  it('names each field the cloud publishes, with its value where it is fixed', () => {
    const fields = [...txt.matchAll(/^([A-Za-z-]+): /gm)].map((match) => match[1]);
    expect(fields).toEqual(['Contact', 'Expires', 'Preferred-Languages', 'Canonical']);
    for (const field of fields) expect(policy).toContain(`\`${field}:`);
    expect(txt).toContain('Preferred-Languages: en');
    expect(policy).toContain('`Preferred-Languages: en`');
    expect(policy).toContain('/.well-known/security.txt');
  });

  it('says the expiry it states: 180 days ahead, at midnight UTC', () => {
    expect(txt).toContain('Expires: 2027-05-30T00:00:00.000Z');
    expect(policy).toContain('180 days ahead, at midnight UTC');
  });

  it('promises a 24-hour acknowledgement and states supported versions', () => {
    expect(policy).toMatch(/within 24 hours/);
    expect(policy).toContain('## Supported versions');
  });
});
