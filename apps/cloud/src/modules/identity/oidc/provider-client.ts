import * as client from 'openid-client';
import { isLoopbackIssuer, type OidcProviderConfig } from './config.js';

/**
 * The relying-party side of one provider, through panva's `openid-client`:
 * discovery (the document's `issuer` must equal the configured issuer), the
 * authorization URL, and the authorization code grant, which validates the
 * authorization response (`state`, RFC 9207 `iss`), redeems the code with our
 * PKCE verifier, and validates the ID token: signature against the provider's
 * JWKS, `iss` exactly, `aud` = our client id (`azp` when there are several
 * audiences), `nonce`, `exp`/`iat` against our clock.
 */

/** Seconds allowed for one request to the provider. */
const PROVIDER_TIMEOUT_SECONDS = 10;
/** Discovery documents are re-read after this long, so a provider's changes are picked up. */
const METADATA_TTL_MS = 60 * 60 * 1000;

export type VerifiedClaims = {
  issuer: string;
  subject: string;
  email: string | undefined;
  /** True only when the provider said exactly `email_verified: true` (a boolean). */
  emailVerified: boolean;
  name: string | undefined;
};

/** Why a sign-in failed, for the audit log and the error code; never carries a token. */
export type ProviderFailureReason =
  | 'provider_unavailable'
  | 'provider_error'
  | 'token_request_failed'
  | 'issuer_mismatch'
  | 'nonce_mismatch'
  | 'audience_mismatch'
  | 'id_token_expired'
  | 'response_invalid';

export class ProviderFailure extends Error {
  readonly reason: ProviderFailureReason;
  /** The provider's own OAuth error code (`access_denied`, `invalid_grant`), when it sent one. */
  readonly providerError: string | undefined;
  constructor(reason: ProviderFailureReason, message: string, providerError?: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'ProviderFailure';
    this.reason = reason;
    this.providerError = providerError;
  }
}

/** Only a short OAuth-style token from the provider reaches the audit log. */
function safeErrorCode(value: unknown): string | undefined {
  return typeof value === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(value) ? value : undefined;
}

/** Walks an error's cause chain for what openid-client / oauth4webapi reported. */
function classify(error: unknown): ProviderFailure {
  if (error instanceof ProviderFailure) return error;
  if (error instanceof client.AuthorizationResponseError) {
    return new ProviderFailure(
      'provider_error',
      'the provider returned an error',
      safeErrorCode(error.error),
      error,
    );
  }
  if (error instanceof client.ResponseBodyError) {
    return new ProviderFailure(
      'token_request_failed',
      'the provider refused the token request',
      safeErrorCode(error.error),
      error,
    );
  }
  const messages: string[] = [];
  let claim: unknown;
  let attribute: unknown;
  let timestamp = false;
  let network = false;
  for (let current: unknown = error, depth = 0; current && depth < 6; depth += 1) {
    if (current instanceof Error) {
      messages.push(current.message);
      const code = (current as { code?: unknown }).code;
      if (code === 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED') timestamp = true;
      if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ECONNREFUSED' || current.name === 'TimeoutError') {
        network = true;
      }
      if (current instanceof TypeError && current.message === 'fetch failed') network = true;
      current = current.cause;
    } else if (typeof current === 'object') {
      const record = current as Record<string, unknown>;
      claim ??= record.claim;
      attribute ??= record.attribute;
      break;
    } else break;
  }
  const text = messages.join(' | ');
  if (network)
    return new ProviderFailure('provider_unavailable', 'the provider could not be reached', undefined, error);
  if (claim === 'nonce')
    return new ProviderFailure('nonce_mismatch', 'the ID token nonce does not match', undefined, error);
  if (claim === 'iss' || attribute === 'issuer' || /"iss" \(issuer\)/.test(text)) {
    return new ProviderFailure('issuer_mismatch', 'the issuer does not match', undefined, error);
  }
  if (claim === 'aud' || claim === 'azp') {
    return new ProviderFailure('audience_mismatch', 'the ID token audience does not match', undefined, error);
  }
  if (timestamp)
    return new ProviderFailure(
      'id_token_expired',
      'the ID token is expired or not yet valid',
      undefined,
      error,
    );
  return new ProviderFailure('response_invalid', 'the provider response is invalid', undefined, error);
}

export function createProviderClient(provider: OidcProviderConfig, deps: { now: () => Date }) {
  const insecure = isLoopbackIssuer(provider.issuer);
  let metadata: { value: Promise<client.ServerMetadata>; at: number } | undefined;
  let jwksCache: client.ExportedJWKSCache | undefined;

  const clientAuth =
    provider.tokenEndpointAuthMethod === 'client_secret_post'
      ? client.ClientSecretPost(provider.clientSecret)
      : client.ClientSecretBasic(provider.clientSecret);

  async function serverMetadata(): Promise<client.ServerMetadata> {
    const at = Date.now();
    if (!metadata || at - metadata.at > METADATA_TTL_MS) {
      const value = client
        .discovery(new URL(provider.issuer), provider.clientId, undefined, clientAuth, {
          timeout: PROVIDER_TIMEOUT_SECONDS,
          ...(insecure ? { execute: [client.allowInsecureRequests] } : {}),
        })
        .then((configuration) => ({ ...configuration.serverMetadata() }));
      metadata = { value, at };
      // A failed discovery is not cached: the next sign-in tries again.
      value.catch(() => {
        if (metadata?.value === value) metadata = undefined;
      });
    }
    try {
      return await metadata.value;
    } catch (error) {
      throw new ProviderFailure('provider_unavailable', 'provider discovery failed', undefined, error);
    }
  }

  /** A configuration whose clock is the injected one: skew = now() − the system clock. */
  async function configuration(): Promise<client.Configuration> {
    const skewSeconds = Math.round((deps.now().getTime() - Date.now()) / 1000);
    const config = new client.Configuration(
      await serverMetadata(),
      provider.clientId,
      { client_secret: provider.clientSecret, [client.clockSkew]: skewSeconds },
      clientAuth,
    );
    config.timeout = PROVIDER_TIMEOUT_SECONDS;
    if (insecure) client.allowInsecureRequests(config);
    if (jwksCache) client.setJwksCache(config, jwksCache);
    return config;
  }

  return {
    async authorizationUrl(params: {
      redirectUri: string;
      state: string;
      nonce: string;
      codeChallenge: string;
    }): Promise<URL> {
      const config = await configuration();
      return client.buildAuthorizationUrl(config, {
        redirect_uri: params.redirectUri,
        response_type: 'code',
        scope: provider.scopes.join(' '),
        state: params.state,
        nonce: params.nonce,
        code_challenge: params.codeChallenge,
        code_challenge_method: 'S256',
      });
    },

    /**
     * Validates the authorization response in `callbackUrl` (our callback URL
     * with the provider's query), redeems the code and validates the ID token.
     * Claims missing from the ID token (providers often keep `email` for the
     * UserInfo endpoint) are read from UserInfo, whose `sub` must match.
     */
    async redeem(
      callbackUrl: URL,
      checks: { state: string; nonce: string; codeVerifier: string },
    ): Promise<VerifiedClaims> {
      try {
        const config = await configuration();
        const tokens = await client.authorizationCodeGrant(config, callbackUrl, {
          expectedState: checks.state,
          expectedNonce: checks.nonce,
          pkceCodeVerifier: checks.codeVerifier,
          idTokenExpected: true,
        });
        const cache = client.getJwksCache(config);
        if (cache) jwksCache = cache;
        const idToken = tokens.claims();
        if (!idToken) throw new ProviderFailure('response_invalid', 'the provider returned no ID token');
        // Email and its verification status are taken together, from one source.
        let emailSource: Record<string, unknown> = idToken;
        let name = idToken.name;
        if (idToken.email === undefined && tokens.access_token && config.serverMetadata().userinfo_endpoint) {
          const userinfo = await client.fetchUserInfo(config, tokens.access_token, idToken.sub);
          emailSource = userinfo;
          name ??= userinfo.name;
        }
        return {
          issuer: idToken.iss,
          subject: idToken.sub,
          email: typeof emailSource.email === 'string' ? emailSource.email : undefined,
          emailVerified: emailSource.email_verified === true,
          name: typeof name === 'string' ? name : undefined,
        };
      } catch (error) {
        throw classify(error);
      }
    },
  };
}

export type ProviderClient = ReturnType<typeof createProviderClient>;

export const randomNonce = client.randomNonce;
export const randomState = client.randomState;
export const randomPkceVerifier = client.randomPKCECodeVerifier;
export const pkceChallengeOf = client.calculatePKCECodeChallenge;
