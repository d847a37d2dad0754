import { isIP } from 'node:net';
import { OidcProviderName } from '@multiclaw/protocol';
import { z } from 'zod';

/**
 * `OIDC_PROVIDERS`: the operator's single sign-on providers, as a JSON array.
 *
 *   [{ "name": "multiplai", "displayName": "Multiplai", "issuer": "https://id.example.com",
 *      "clientId": "…", "clientSecret": "…",
 *      "redirectUris": ["http://127.0.0.1/oidc/callback"], "linkVerifiedEmail": false }]
 *
 * Parsed strictly at start-up: an unknown key (a typo such as
 * `linkVerifiedEmails`) is an error, not a silently ignored setting.
 */

const DEFAULT_SCOPES = ['openid', 'email', 'profile'];

/** Loopback IP literals only: RFC 8252 §8.3 advises against `localhost`, which DNS or a hosts file could point elsewhere. */
function isLoopbackIpLiteral(hostname: string): boolean {
  if (hostname === '[::1]') return true;
  return isIP(hostname) === 4 && /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

function parseUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

const Issuer = z
  .string()
  .max(2048)
  .superRefine((raw, ctx) => {
    const url = parseUrl(raw);
    if (!url) {
      ctx.addIssue({ code: 'custom', message: 'must be a URL like https://id.example.com' });
      return;
    }
    if (url.search || url.hash || raw.includes('?') || raw.includes('#') || url.username || url.password) {
      ctx.addIssue({ code: 'custom', message: 'must have no query, fragment or credentials' });
      return;
    }
    if (url.protocol === 'https:') return;
    if (url.protocol === 'http:' && isLoopbackIpLiteral(url.hostname)) return;
    ctx.addIssue({
      code: 'custom',
      message: 'must be https:// (http:// only for a loopback address such as 127.0.0.1, for development)',
    });
  });

/**
 * A redirect URI the desktop app may ask for (RFC 8252 §7.3): `http`, a
 * loopback IP literal, a path; no query or fragment. The port is not part of
 * the registration (the app picks a free port at run time), so any port here
 * is ignored when matching.
 */
const LoopbackRedirectUri = z
  .string()
  .max(2048)
  .superRefine((raw, ctx) => {
    const url = parseUrl(raw);
    if (url?.protocol !== 'http:' || !isLoopbackIpLiteral(url.hostname)) {
      ctx.addIssue({
        code: 'custom',
        message:
          'must be a loopback redirect URI like http://127.0.0.1/oidc/callback or http://[::1]/callback',
      });
      return;
    }
    if (url.search || url.hash || raw.includes('?') || raw.includes('#') || url.username || url.password) {
      ctx.addIssue({ code: 'custom', message: 'must have no query, fragment or credentials' });
    }
  });

const Provider = z.strictObject({
  name: OidcProviderName,
  displayName: z.string().trim().min(1).max(100),
  issuer: Issuer,
  clientId: z.string().min(1).max(512),
  clientSecret: z
    .string()
    .min(1)
    .max(4096)
    .refine((value) => value !== '…' && !/replace[_-]?me|changeme/i.test(value), 'still holds a placeholder'),
  redirectUris: z.array(LoopbackRedirectUri).min(1).max(20),
  scopes: z
    .array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, 'must be an OAuth scope token'))
    .min(1)
    .max(20)
    .refine((scopes) => scopes.includes('openid'), 'must include "openid"')
    .default(DEFAULT_SCOPES),
  tokenEndpointAuthMethod: z
    .enum(['client_secret_basic', 'client_secret_post'])
    .default('client_secret_basic'),
  /**
   * Link a first sign-in with this provider to an existing account that has
   * the same email address, provided the provider asserts `email_verified: true`.
   * Off by default: turn it on only for a provider trusted to verify addresses.
   */
  linkVerifiedEmail: z.boolean().default(false),
});

const Providers = z
  .array(Provider)
  .max(50)
  .superRefine((providers, ctx) => {
    const names = new Set<string>();
    const issuers = new Set<string>();
    for (const [index, provider] of providers.entries()) {
      if (names.has(provider.name)) {
        ctx.addIssue({
          code: 'custom',
          path: [index, 'name'],
          message: `repeats the name "${provider.name}"`,
        });
      }
      names.add(provider.name);
      // External identities are keyed by (issuer, subject): two entries for one
      // issuer would give one identity two policies.
      const issuer = parseUrl(provider.issuer)?.href ?? provider.issuer;
      if (issuers.has(issuer)) {
        ctx.addIssue({
          code: 'custom',
          path: [index, 'issuer'],
          message: 'repeats an issuer already configured',
        });
      }
      issuers.add(issuer);
    }
  });

export type OidcProviderConfig = Readonly<
  Omit<z.infer<typeof Provider>, 'redirectUris' | 'scopes'> & {
    redirectUris: readonly string[];
    scopes: readonly string[];
  }
>;

function pathOf(path: ReadonlyArray<PropertyKey>): string {
  return path.map((part) => (typeof part === 'number' ? `[${part}]` : `.${String(part)}`)).join('');
}

/**
 * Parses `OIDC_PROVIDERS`. Absent or empty means no providers. Throws an
 * Error naming the variable and the bad path (`OIDC_PROVIDERS[0].issuer: …`);
 * never echoes a value, so a client secret cannot end up in a log.
 */
export function parseOidcProviders(raw: string | undefined): readonly OidcProviderConfig[] {
  if (raw === undefined || raw.trim() === '') return [];
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new Error('OIDC_PROVIDERS: is not valid JSON (expected an array of provider objects)');
  }
  const parsed = Providers.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `OIDC_PROVIDERS${pathOf(issue.path)}: ${issue.message}`,
    );
    throw new Error(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
  return Object.freeze(
    parsed.data.map((provider) =>
      Object.freeze({
        ...provider,
        redirectUris: Object.freeze([...provider.redirectUris]),
        scopes: Object.freeze([...provider.scopes]),
      }),
    ),
  );
}

/**
 * Whether `requested` is one of the provider's registered loopback redirect
 * URIs. RFC 8252 §7.3: scheme, host and path must match exactly; the port may
 * differ (the app listens on whatever port was free). Query and fragment are
 * not allowed, so there is nothing else to compare.
 */
export function isAllowedRedirectUri(provider: OidcProviderConfig, requested: string): boolean {
  const url = parseUrl(requested);
  if (url?.protocol !== 'http:' || !isLoopbackIpLiteral(url.hostname)) return false;
  if (url.search || url.hash || requested.includes('?') || requested.includes('#')) return false;
  if (url.username || url.password) return false;
  return provider.redirectUris.some((registered) => {
    const allowed = new URL(registered);
    return allowed.hostname === url.hostname && allowed.pathname === url.pathname;
  });
}

/** Whether requests to the issuer may use plain http (a loopback issuer, for development and tests). */
export function isLoopbackIssuer(issuer: string): boolean {
  const url = parseUrl(issuer);
  return url?.protocol === 'http:' && isLoopbackIpLiteral(url.hostname);
}
