import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ApiError, type OidcProviderInfo, type OidcTokenResponse } from '@multiclaw/protocol';
import type { Database } from '../../../db/client.js';
import type { AuditRecorder } from '../../audit/recorder.js';
import { publicUserSelect, toPublicUser } from '../public-user.js';
import type { ClientContext, SessionService } from '../sessions/service.js';
import { createAccountResolver } from './account-resolution.js';
import { isAllowedRedirectUri, type OidcProviderConfig } from './config.js';
import { FlowFailure, fromProviderFailure } from './flow-failure.js';
import {
  createProviderClient,
  type ProviderClient,
  ProviderFailure,
  pkceChallengeOf,
  randomNonce,
  randomPkceVerifier,
  randomState,
  type VerifiedClaims,
} from './provider-client.js';

/** How long a started sign-in may take at the provider. */
export const LOGIN_REQUEST_TTL_SECONDS = 10 * 60;
/** How long the app has to redeem the one-time exchange code after the callback. */
export const EXCHANGE_CODE_TTL_SECONDS = 2 * 60;

const sha256 = (value: string) => new Uint8Array(createHash('sha256').update(value, 'utf8').digest());
const addSeconds = (date: Date, seconds: number) => new Date(date.getTime() + seconds * 1000);

/** `base` with `params` set in its query (the stored app redirect may already carry the app's `state`). */
function withParams(base: string, params: Record<string, string>): string {
  const url = new URL(base);
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
  return url.href;
}

/**
 * Single sign-on for the desktop app (RFC 8252), in three legs:
 *
 * 1. `start`: the app names a registered loopback redirect URI and its own
 *    S256 PKCE challenge; we store a login request (state hashed, nonce, our
 *    own PKCE verifier for the provider) and send the browser to the provider.
 * 2. `callback`: the provider sends the browser back to us; openid-client
 *    validates the response and the ID token; we find, link or create the
 *    account, and send the browser to the app's loopback URI with a one-time
 *    exchange code (stored hashed). No token ever appears in a browser URL.
 * 3. `exchange`: the app posts the code with its PKCE verifier and gets a
 *    fresh session, the same shape as a password sign-in.
 */
export function createOidcService(deps: {
  providers: readonly OidcProviderConfig[];
  /** The cloud's public base URL; the provider redirects to `${publicUrl}/v1/auth/oidc/:provider/callback`. */
  publicUrl: string;
  db: Database;
  sessions: SessionService;
  audit: AuditRecorder;
  now: () => Date;
  /** For tests: how to talk to a provider. */
  clientFor?: (provider: OidcProviderConfig) => ProviderClient;
}) {
  const { db, sessions, audit, now } = deps;
  const resolveUser = createAccountResolver({ db, audit, sessions, now });
  const clientFor = deps.clientFor ?? ((provider) => createProviderClient(provider, { now }));
  const providers = new Map(
    deps.providers.map((provider) => [provider.name, { config: provider, client: clientFor(provider) }]),
  );

  function providerOf(name: string) {
    const found = providers.get(name);
    if (!found) throw new ApiError('NOT_FOUND', 'No such sign-in provider');
    return found;
  }

  const callbackUrlOf = (name: string) =>
    `${deps.publicUrl}/v1/auth/oidc/${encodeURIComponent(name)}/callback`;

  function failed(
    provider: string | null,
    reason: string,
    client: ClientContext,
    extra: { providerError?: string | undefined; userId?: string | undefined } = {},
  ) {
    return audit.record({
      action: 'auth.sso.login.failed',
      actorId: extra.userId,
      metadata: {
        provider,
        reason,
        ...(extra.providerError ? { providerError: extra.providerError } : {}),
      },
      ...client,
    });
  }

  return {
    /** The configured providers, for the sign-in screen. */
    list(): OidcProviderInfo[] {
      return [...providers.values()].map(({ config }) => ({
        name: config.name,
        displayName: config.displayName,
      }));
    },

    /** Stores a login request and returns the provider's authorization URL. */
    async start(
      providerName: string,
      input: { redirectUri: string; codeChallenge: string; appState?: string | undefined },
      client: ClientContext,
    ): Promise<URL> {
      const { config, client: provider } = providerOf(providerName);
      if (!isAllowedRedirectUri(config, input.redirectUri)) {
        await failed(config.name, 'redirect_uri_not_allowed', client);
        throw new ApiError(
          'OIDC_REDIRECT_URI_NOT_ALLOWED',
          'redirect_uri must be a loopback URI registered for this provider (http://127.0.0.1:<port>/…)',
        );
      }
      const at = now();
      const state = randomState();
      const nonce = randomNonce();
      const codeVerifier = randomPkceVerifier();
      let authorizationUrl: URL;
      try {
        authorizationUrl = await provider.authorizationUrl({
          redirectUri: callbackUrlOf(config.name),
          state,
          nonce,
          codeChallenge: await pkceChallengeOf(codeVerifier),
        });
      } catch (error) {
        if (!(error instanceof ProviderFailure)) throw error;
        await failed(config.name, 'provider_unavailable', client);
        throw new ApiError('OIDC_PROVIDER_UNAVAILABLE', 'The identity provider could not be reached');
      }
      // Housekeeping: a request is useless once neither its callback nor its
      // exchange can still happen.
      await db.oidcLoginRequest.deleteMany({
        where: { expiresAt: { lt: addSeconds(at, -EXCHANGE_CODE_TTL_SECONDS) } },
      });
      await db.oidcLoginRequest.create({
        data: {
          provider: config.name,
          stateHash: sha256(state),
          nonce,
          codeVerifier,
          // Where the browser ends: the app's redirect URI, with the app's own
          // state already in its query (registered URIs have no query).
          redirectUri: input.appState
            ? withParams(input.redirectUri, { state: input.appState })
            : new URL(input.redirectUri).href,
          clientCodeChallenge: input.codeChallenge,
          createdAt: at,
          expiresAt: addSeconds(at, LOGIN_REQUEST_TTL_SECONDS),
        },
      });
      return authorizationUrl;
    },

    /**
     * Handles the provider's redirect. A response that matches no live login
     * request (unknown, expired or reused `state`) is refused here with an
     * error; any other outcome, success or failure, is a redirect to the
     * app's loopback URI, with `code` or with `error` and `error_description`.
     */
    async callback(
      providerName: string,
      query: {
        state?: string | undefined;
        code?: string | undefined;
        iss?: string | undefined;
        error?: string | undefined;
        error_description?: string | undefined;
      },
      client: ClientContext,
    ): Promise<{ location: string }> {
      const { config, client: provider } = providerOf(providerName);
      const at = now();
      const stateHash = query.state ? sha256(query.state) : undefined;
      // Claiming the request (completedAt) makes each state good for one callback.
      const claimed = stateHash
        ? await db.oidcLoginRequest.updateMany({
            where: { stateHash, provider: config.name, completedAt: null, expiresAt: { gt: at } },
            data: { completedAt: at },
          })
        : { count: 0 };
      const request =
        stateHash && claimed.count === 1
          ? await db.oidcLoginRequest.findUnique({ where: { stateHash } })
          : null;
      if (!request || !query.state) {
        await failed(config.name, 'state_invalid', client);
        throw new ApiError(
          'OIDC_STATE_INVALID',
          'This sign-in link is not valid: it has expired or was already used. Start the sign-in again.',
        );
      }

      try {
        const callbackUrl = new URL(callbackUrlOf(config.name));
        for (const key of ['code', 'state', 'iss', 'error', 'error_description'] as const) {
          const value = query[key];
          if (value !== undefined) callbackUrl.searchParams.set(key, value);
        }
        let claims: VerifiedClaims;
        try {
          claims = await provider.redeem(callbackUrl, {
            state: query.state,
            nonce: request.nonce,
            codeVerifier: request.codeVerifier,
          });
        } catch (error) {
          if (error instanceof ProviderFailure) throw fromProviderFailure(error);
          throw error;
        }
        const userId = await resolveUser(config, claims, client);
        const exchangeCode = randomBytes(32).toString('base64url');
        await db.oidcLoginRequest.update({
          where: { id: request.id },
          data: { userId, exchangeCodeHash: sha256(exchangeCode) },
        });
        return { location: withParams(request.redirectUri, { code: exchangeCode }) };
      } catch (error) {
        if (!(error instanceof FlowFailure)) throw error;
        await failed(config.name, error.reason, client, {
          providerError: error.providerError,
          userId: error.userId,
        });
        return {
          location: withParams(request.redirectUri, { error: error.code, error_description: error.message }),
        };
      }
    },

    /**
     * Redeems a one-time exchange code. The code is spent by the first attempt,
     * right or wrong; the verifier must hash (S256) to the challenge the app
     * sent at the start.
     */
    async exchange(
      input: { code: string; codeVerifier: string },
      client: ClientContext,
    ): Promise<OidcTokenResponse> {
      const at = now();
      const exchangeCodeHash = sha256(input.code);
      const claimed = await db.oidcLoginRequest.updateMany({
        where: {
          exchangeCodeHash,
          exchangedAt: null,
          userId: { not: null },
          completedAt: { gt: addSeconds(at, -EXCHANGE_CODE_TTL_SECONDS) },
        },
        data: { exchangedAt: at },
      });
      const request =
        claimed.count === 1
          ? await db.oidcLoginRequest.findUnique({
              where: { exchangeCodeHash },
              select: {
                provider: true,
                clientCodeChallenge: true,
                user: { select: publicUserSelect },
              },
            })
          : null;
      const invalid = () =>
        new ApiError(
          'OIDC_EXCHANGE_CODE_INVALID',
          'The sign-in code is invalid, expired or already used. Start the sign-in again.',
        );
      if (!request?.user) {
        await failed(request?.provider ?? null, 'exchange_code_invalid', client);
        throw invalid();
      }
      const expected = Buffer.from(request.clientCodeChallenge ?? '', 'utf8');
      const presented = Buffer.from(await pkceChallengeOf(input.codeVerifier), 'utf8');
      if (expected.length !== presented.length || !timingSafeEqual(expected, presented)) {
        await failed(request.provider, 'code_verifier_mismatch', client, { userId: request.user.id });
        throw invalid();
      }
      const session = await sessions.start(request.user.id, client);
      await audit.record({
        action: 'auth.sso.login.succeeded',
        actorId: request.user.id,
        targetType: 'session',
        targetId: session.sessionId,
        metadata: { provider: request.provider },
        ...client,
      });
      return {
        accessToken: session.accessToken,
        refreshToken: session.refreshToken,
        expiresIn: session.expiresIn,
        user: toPublicUser(request.user),
      };
    },
  };
}

export type OidcService = ReturnType<typeof createOidcService>;
