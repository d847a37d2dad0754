import { describe, expect, it } from 'vitest';
import { isAllowedRedirectUri, isLoopbackIssuer, parseOidcProviders } from './config.js';

const SECRET = 's3cr3t-value-that-must-never-be-echoed';

function provider(overrides: Record<string, unknown> = {}) {
  return {
    name: 'multiplai',
    displayName: 'Multiplai',
    issuer: 'https://id.example.com',
    clientId: 'multiclaw',
    clientSecret: SECRET,
    redirectUris: ['http://127.0.0.1/oidc/callback'],
    ...overrides,
  };
}

function parse(...providers: unknown[]) {
  return parseOidcProviders(JSON.stringify(providers));
}

function problemOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected an error');
}

describe('parseOidcProviders', () => {
  it('treats an absent or empty variable as no providers', () => {
    expect(parseOidcProviders(undefined)).toEqual([]);
    expect(parseOidcProviders('  ')).toEqual([]);
    expect(parseOidcProviders('[]')).toEqual([]);
  });

  it('applies defaults: linking off, openid email profile, client_secret_basic', () => {
    const [parsed] = parse(provider());
    expect(parsed).toMatchObject({
      name: 'multiplai',
      linkVerifiedEmail: false,
      scopes: ['openid', 'email', 'profile'],
      tokenEndpointAuthMethod: 'client_secret_basic',
    });
    expect(Object.isFrozen(parsed)).toBe(true);
  });

  it('refuses invalid JSON, naming the variable', () => {
    expect(problemOf(() => parseOidcProviders('[{'))).toMatch(/^OIDC_PROVIDERS: is not valid JSON/);
    expect(problemOf(() => parseOidcProviders('{}'))).toContain('OIDC_PROVIDERS:');
  });

  it('names the bad path and never echoes the secret', () => {
    const message = problemOf(() => parse(provider(), provider({ name: 'other', issuer: 'ftp://x' })));
    expect(message).toContain('OIDC_PROVIDERS[1].issuer:');
    expect(message).not.toContain(SECRET);
  });

  it('requires a URL-safe slug as the name', () => {
    for (const name of ['Multiplai', 'multi plai', 'multi/plai', '-x', 'x-', '', 'a'.repeat(65)]) {
      expect(
        problemOf(() => parse(provider({ name }))),
        name,
      ).toContain('OIDC_PROVIDERS[0].name:');
    }
    expect(parse(provider({ name: 'multi-plai-2' }))[0]?.name).toBe('multi-plai-2');
  });

  it('requires https issuers, allowing http only on a loopback address', () => {
    expect(problemOf(() => parse(provider({ issuer: 'http://id.example.com' })))).toContain(
      'OIDC_PROVIDERS[0].issuer: must be https://',
    );
    expect(problemOf(() => parse(provider({ issuer: 'http://localhost:9000' })))).toContain(
      'OIDC_PROVIDERS[0].issuer',
    );
    expect(problemOf(() => parse(provider({ issuer: 'https://id.example.com/?x=1' })))).toContain('no query');
    expect(parse(provider({ issuer: 'http://127.0.0.1:9000' }))[0]?.issuer).toBe('http://127.0.0.1:9000');
    expect(parse(provider({ issuer: 'http://[::1]:9000/realm' }))[0]?.issuer).toBe('http://[::1]:9000/realm');
  });

  it('accepts only loopback redirect URIs (no localhost, no https, no query)', () => {
    for (const uri of [
      'https://127.0.0.1/cb',
      'http://localhost/cb',
      'http://app.example.com/cb',
      'http://127.0.0.1/cb?x=1',
      'http://127.0.0.1/cb#f',
      'com.example.app:/cb',
    ]) {
      expect(
        problemOf(() => parse(provider({ redirectUris: [uri] }))),
        uri,
      ).toContain('OIDC_PROVIDERS[0].redirectUris[0]');
    }
    expect(problemOf(() => parse(provider({ redirectUris: [] })))).toContain(
      'OIDC_PROVIDERS[0].redirectUris',
    );
  });

  it('refuses unknown keys, so a typo is not a silently ignored policy', () => {
    expect(problemOf(() => parse(provider({ linkVerifiedEmails: true })))).toContain('linkVerifiedEmails');
    expect(problemOf(() => parse(provider({ linkVerifiedEmail: 'yes' })))).toContain(
      'OIDC_PROVIDERS[0].linkVerifiedEmail',
    );
  });

  it('refuses repeated names and repeated issuers', () => {
    expect(problemOf(() => parse(provider(), provider({ issuer: 'https://other.example.com' })))).toContain(
      'OIDC_PROVIDERS[1].name: repeats',
    );
    expect(problemOf(() => parse(provider(), provider({ name: 'other' })))).toContain(
      'OIDC_PROVIDERS[1].issuer: repeats',
    );
  });

  it('requires openid among the scopes, and a real secret', () => {
    expect(problemOf(() => parse(provider({ scopes: ['email'] })))).toContain('OIDC_PROVIDERS[0].scopes');
    expect(problemOf(() => parse(provider({ clientSecret: '…' })))).toContain(
      'OIDC_PROVIDERS[0].clientSecret',
    );
    expect(problemOf(() => parse(provider({ clientSecret: '' })))).toContain(
      'OIDC_PROVIDERS[0].clientSecret',
    );
  });
});

describe('isAllowedRedirectUri (RFC 8252 §7.3)', () => {
  const [registered] = parseOidcProviders(
    JSON.stringify([provider({ redirectUris: ['http://127.0.0.1/oidc/callback', 'http://[::1]:1/cb'] })]),
  );
  if (!registered) throw new Error('no provider');

  it('matches scheme, host and path, on any port', () => {
    expect(isAllowedRedirectUri(registered, 'http://127.0.0.1:49152/oidc/callback')).toBe(true);
    expect(isAllowedRedirectUri(registered, 'http://127.0.0.1/oidc/callback')).toBe(true);
    expect(isAllowedRedirectUri(registered, 'http://[::1]:8080/cb')).toBe(true);
  });

  it('refuses anything else', () => {
    for (const uri of [
      'http://127.0.0.1:49152/oidc/callback/',
      'http://127.0.0.1:49152/oidc/other',
      'http://127.0.0.2:49152/oidc/callback',
      'http://[::1]:49152/oidc/callback',
      'http://localhost:49152/oidc/callback',
      'https://127.0.0.1:49152/oidc/callback',
      'http://127.0.0.1:49152/oidc/callback?x=1',
      'http://127.0.0.1:49152/oidc/callback#x',
      'http://u:p@127.0.0.1:49152/oidc/callback',
      'http://evil.example/oidc/callback',
      '/oidc/callback',
    ]) {
      expect(isAllowedRedirectUri(registered, uri), uri).toBe(false);
    }
  });
});

describe('isLoopbackIssuer', () => {
  it('is true only for plain-http loopback issuers', () => {
    expect(isLoopbackIssuer('http://127.0.0.1:9000')).toBe(true);
    expect(isLoopbackIssuer('https://127.0.0.1:9000')).toBe(false);
    expect(isLoopbackIssuer('http://id.example.com')).toBe(false);
  });
});
