/// <reference path="./oidc-provider.d.ts" />
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import Provider, { type InteractionDetails } from 'oidc-provider';

/** A person the provider knows, by `sub`; the cloud's tests also send malformed claims. */
export type IdpAccount = { email?: string; email_verified?: unknown; name?: string };
/** How the next interaction ends when a test scripts it: signed in as `accountId`, or refused with `error`. */
export type NextLogin = { accountId: string } | { error: string };

/**
 * A real OpenID provider (panva's oidc-provider) on 127.0.0.1 whose one client
 * is the cloud. Its interaction is either scripted (`next`: finished at once,
 * no page) or a sign-in page a browser fills in: an email field and a
 * "Sign in" button, an unknown email refused with access_denied.
 */
export interface TestIdp {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** People the provider knows, by `sub` (the sign-in page takes the email as the `sub`). */
  accounts: Map<string, IdpAccount>;
  /** When set, each interaction ends this way without a page; unset, the sign-in page answers. */
  next: NextLogin | undefined;
  /** Creates the provider, now that the cloud's callback URLs are known. */
  configure(redirectUris: string[]): Promise<void>;
  close(): Promise<void>;
}

export async function startTestIdp(
  options: {
    /** The client's secret (default: a fresh random one); two providers may share one. */
    clientSecret?: string;
    /** oidc-provider's token lifetimes in seconds (e.g. a short IdToken, to move a clock past it). */
    ttl?: Record<string, number>;
  } = {},
): Promise<TestIdp> {
  const server: Server = createServer();
  let provider: Provider | undefined;
  let handle: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;

  async function finish(
    req: IncomingMessage,
    res: ServerResponse,
    op: Provider,
    details: InteractionDetails,
    next: NextLogin,
  ) {
    if ('error' in next) {
      await op.interactionFinished(
        req,
        res,
        { error: next.error, error_description: 'the person cancelled' },
        { mergeWithLastSubmission: false },
      );
      return;
    }
    const grant = new op.Grant({ accountId: next.accountId, clientId: String(details.params.client_id) });
    grant.addOIDCScope(String(details.params.scope));
    const grantId = await grant.save();
    await op.interactionFinished(
      req,
      res,
      { login: { accountId: next.accountId }, consent: { grantId } },
      { mergeWithLastSubmission: false },
    );
  }

  async function interaction(req: IncomingMessage, res: ServerResponse, op: Provider): Promise<void> {
    const details = await op.interactionDetails(req, res);
    if (idp.next) return finish(req, res, op, details, idp.next);
    if (req.method === 'GET') {
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.end(
        `<!doctype html><html lang="en"><title>Test IdP</title><main><h1>Sign in to Test IdP</h1>` +
          `<form method="post" action="/interaction/${details.uid}"><label>Email <input name="email" type="email"></label>` +
          `<button type="submit">Sign in</button></form></main></html>`,
      );
      return;
    }
    const body = await new Promise<string>((resolve) => {
      let text = '';
      req.on('data', (chunk) => {
        text += chunk;
      });
      req.on('end', () => resolve(text));
    });
    const email = new URLSearchParams(body).get('email') ?? '';
    if (!idp.accounts.has(email)) {
      await op.interactionFinished(req, res, { error: 'access_denied', error_description: 'unknown person' });
      return;
    }
    await finish(req, res, op, details, { accountId: email });
  }

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (!provider || !handle) {
      res.statusCode = 503;
      res.end();
      return;
    }
    if (req.url?.startsWith('/interaction/')) {
      interaction(req, res, provider).catch((error: unknown) => {
        res.statusCode = 500;
        res.end(String(error));
      });
      return;
    }
    handle(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

  const idp: TestIdp = {
    issuer: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    clientId: 'multiclaw-cloud',
    clientSecret: options.clientSecret ?? randomBytes(32).toString('base64url'),
    accounts: new Map(),
    next: undefined,
    async configure(redirectUris) {
      const { privateKey } = await generateKeyPair('RS256', { extractable: true });
      provider = new Provider(idp.issuer, {
        clients: [
          {
            client_id: idp.clientId,
            client_secret: idp.clientSecret,
            redirect_uris: redirectUris,
            grant_types: ['authorization_code'],
            response_types: ['code'],
            token_endpoint_auth_method: 'client_secret_basic',
          },
        ],
        jwks: { keys: [{ ...(await exportJWK(privateKey)), kid: 'test-key', alg: 'RS256', use: 'sig' }] },
        cookies: { keys: [randomBytes(32).toString('base64url')] },
        claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
        features: { devInteractions: { enabled: false } },
        interactions: {
          url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}`,
        },
        findAccount: async (_ctx: unknown, sub: string) => {
          const account = idp.accounts.get(sub);
          return account && { accountId: sub, claims: async () => ({ sub, ...account }) };
        },
        ...(options.ttl ? { ttl: options.ttl } : {}),
      });
      handle = provider.callback();
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return idp;
}
