import { z } from 'zod';
import { ClientName, LoginResponse } from './auth.js';

/**
 * Single sign-on (OpenID Connect) shapes: `/v1/auth/oidc/*`.
 *
 * A desktop app signs in through the system browser (RFC 8252): it opens
 * `GET /v1/auth/oidc/:provider/start` with its own loopback redirect URI and
 * an S256 PKCE challenge, the cloud runs the authorization code flow with the
 * provider, and the browser ends on the app's loopback URI carrying only a
 * one-time exchange `code`. The app then posts that code with its PKCE
 * verifier to `POST /v1/auth/oidc/token` for the session tokens, so no token
 * ever appears in a browser URL.
 */

/** An operator-chosen provider name: lower-case letters, digits and inner hyphens (a URL path segment). */
export const OidcProviderName = z
  .string()
  .regex(
    /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/,
    'must be 1-64 lower-case letters, digits or inner hyphens (a URL-safe slug)',
  );
export type OidcProviderName = z.infer<typeof OidcProviderName>;

/** The `:provider` path segment. Any string up to 100 characters; a name not configured is a 404. */
export const OidcProviderParams = z.object({ provider: z.string().min(1).max(100) });
export type OidcProviderParams = z.infer<typeof OidcProviderParams>;

/** What the sign-in screen shows for each configured provider. */
export const OidcProviderInfo = z.object({ name: OidcProviderName, displayName: z.string() });
export type OidcProviderInfo = z.infer<typeof OidcProviderInfo>;

/** RFC 7636 S256 challenge: BASE64URL(SHA-256(verifier)), always 43 characters. */
export const PkceCodeChallenge = z
  .string()
  .regex(/^[A-Za-z0-9_-]{43}$/, 'must be an S256 PKCE challenge: 43 base64url characters');
export type PkceCodeChallenge = z.infer<typeof PkceCodeChallenge>;

/** RFC 7636 §4.1 code verifier: 43-128 unreserved characters. */
export const PkceCodeVerifier = z
  .string()
  .regex(/^[A-Za-z0-9._~-]{43,128}$/, 'must be a PKCE code verifier: 43-128 unreserved characters');
export type PkceCodeVerifier = z.infer<typeof PkceCodeVerifier>;

/** `GET /v1/auth/oidc/:provider/start` query (OAuth-style snake_case, since the app builds a URL). */
export const OidcStartQuery = z.object({
  /** The app's loopback redirect URI (RFC 8252 §7.3), registered for the provider; any port. */
  redirect_uri: z.string().min(1).max(2048),
  code_challenge: PkceCodeChallenge,
  /** Only S256: `plain` would put the verifier itself in a browser URL. */
  code_challenge_method: z.literal('S256'),
  /** Opaque value of the app's own, echoed back on its redirect URI. Visible ASCII only. */
  state: z
    .string()
    .min(1)
    .max(512)
    .regex(/^[\x21-\x7e]+$/, 'must be visible ASCII characters')
    .optional(),
});
export type OidcStartQuery = z.infer<typeof OidcStartQuery>;

/**
 * `GET /v1/auth/oidc/:provider/callback` query: the provider's authorization
 * response (RFC 6749 §4.1.2, RFC 9207 `iss`). Each parameter at most once;
 * unknown parameters are dropped.
 */
export const OidcCallbackQuery = z.object({
  state: z.string().max(1024).optional(),
  code: z.string().max(4096).optional(),
  iss: z.string().max(2048).optional(),
  error: z.string().max(256).optional(),
  error_description: z.string().max(2048).optional(),
});
export type OidcCallbackQuery = z.infer<typeof OidcCallbackQuery>;

/** `POST /v1/auth/oidc/token`: the one-time exchange code from the loopback redirect plus the app's PKCE verifier. */
export const OidcTokenRequest = z.object({
  code: z.string().min(16).max(256),
  codeVerifier: PkceCodeVerifier,
  clientName: ClientName.optional(),
});
export type OidcTokenRequest = z.infer<typeof OidcTokenRequest>;

/** Same shape as a password sign-in. */
export const OidcTokenResponse = LoginResponse;
export type OidcTokenResponse = z.infer<typeof OidcTokenResponse>;
