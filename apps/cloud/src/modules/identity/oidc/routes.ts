import {
  OidcCallbackQuery,
  OidcProviderInfo,
  OidcProviderParams,
  OidcStartQuery,
  OidcTokenRequest,
  OidcTokenResponse,
  Page,
} from '@multiclaw/protocol';
import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { clientOf } from '../../../plugins/actor.js';
import { rateLimited } from '../../../plugins/rate-limit.js';
import type { OidcService } from './service.js';

const Redirect = z.null().describe('302 redirect; see the Location header');

/** Every answer here carries one-time values: never cached, never sent on as a Referer. */
function noStore(reply: FastifyReply): void {
  reply.header('cache-control', 'no-store');
  reply.header('pragma', 'no-cache');
  reply.header('referrer-policy', 'no-referrer');
}

/** `/v1/auth/oidc/*` (registered under that prefix): single sign-on for the desktop app (see service.ts for the flow). */
export const oidcRoutes: FastifyPluginAsyncZod<{ oidc: OidcService }> = async (app, { oidc }) => {
  const limited = rateLimited('auth');
  // Errors included: these answers are about one sign-in and must not be cached or leak a Referer.
  app.addHook('onRequest', async (_request, reply) => noStore(reply));

  app.get(
    '/providers',
    {
      config: limited,
      schema: { tags: ['identity'], response: { 200: Page(OidcProviderInfo) } },
    },
    async () => ({ items: oidc.list(), nextCursor: null }),
  );

  app.get(
    '/:provider/start',
    {
      config: {
        ...limited,
        errors: ['NOT_FOUND', 'OIDC_REDIRECT_URI_NOT_ALLOWED', 'OIDC_PROVIDER_UNAVAILABLE'],
      },
      schema: {
        tags: ['identity'],
        description:
          'Starts a sign-in with the provider: redirects (302) to its authorization endpoint. ' +
          'The browser comes back to the app at `redirect_uri` with a one-time `code` (or `error`).',
        params: OidcProviderParams,
        querystring: OidcStartQuery,
        response: { 302: Redirect },
      },
    },
    async (request, reply) => {
      const query = request.query;
      const url = await oidc.start(
        request.params.provider,
        { redirectUri: query.redirect_uri, codeChallenge: query.code_challenge, appState: query.state },
        clientOf(request),
      );
      return reply.redirect(url.href, 302);
    },
  );

  app.get(
    '/:provider/callback',
    {
      config: {
        ...limited,
        errors: [
          'NOT_FOUND',
          'OIDC_STATE_INVALID',
          'OIDC_PROVIDER_DENIED',
          'OIDC_RESPONSE_INVALID',
          'OIDC_PROVIDER_UNAVAILABLE',
          'OIDC_EMAIL_NOT_VERIFIED',
          'OIDC_ACCOUNT_EXISTS',
        ],
      },
      schema: {
        tags: ['identity'],
        description:
          "The provider's redirect target. Redirects (302) to the app's loopback URI with a one-time " +
          '`code`, or with `error` (an error code) and `error_description`.',
        params: OidcProviderParams,
        querystring: OidcCallbackQuery,
        response: { 302: Redirect },
      },
    },
    async (request, reply) => {
      const { location } = await oidc.callback(request.params.provider, request.query, clientOf(request));
      return reply.redirect(location, 302);
    },
  );

  app.post(
    '/token',
    {
      config: { ...limited, errors: ['OIDC_EXCHANGE_CODE_INVALID'] },
      schema: {
        tags: ['identity'],
        description:
          'Exchanges the one-time code from the loopback redirect, with the PKCE verifier of the ' +
          'challenge sent to `start`, for session tokens.',
        body: OidcTokenRequest,
        response: { 200: OidcTokenResponse },
      },
    },
    async (request) => {
      const { code, codeVerifier, clientName } = request.body;
      return oidc.exchange({ code, codeVerifier }, clientOf(request, clientName));
    },
  );
};
