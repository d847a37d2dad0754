import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';

/**
 * A real OpenID provider (panva's oidc-provider, as the cloud's tests use) on
 * 127.0.0.1, with a sign-in page a browser fills in: an email field and a
 * "Sign in" button. Its one client is the cloud.
 */
export interface TestIdp {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** People the provider knows, by email (their `sub` is the email). */
  accounts: Map<string, { email: string; email_verified: boolean; name?: string }>;
  /** Creates the provider, now that the cloud's callback URL is known. */
  configure(redirectUris: string[]): Promise<void>;
  close(): Promise<void>;
}

export async function startTestIdp(): Promise<TestIdp> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const accounts: TestIdp['accounts'] = new Map();
  const clientId = 'multiclaw-cloud';
  const clientSecret = randomBytes(32).toString('base64url');
  let provider: Provider | undefined;
  let handle: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;

  async function interaction(req: IncomingMessage, res: ServerResponse, op: Provider): Promise<void> {
    const details = await op.interactionDetails(req, res);
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
    if (!accounts.has(email)) {
      await op.interactionFinished(req, res, { error: 'access_denied', error_description: 'unknown person' });
      return;
    }
    const grant = new op.Grant({ accountId: email, clientId: String(details.params.client_id) });
    grant.addOIDCScope(String(details.params.scope));
    const grantId = await grant.save();
    await op.interactionFinished(
      req,
      res,
      { login: { accountId: email }, consent: { grantId } },
      { mergeWithLastSubmission: false },
    );
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

  return {
    issuer,
    clientId,
    clientSecret,
    accounts,
    async configure(redirectUris) {
      const { privateKey } = await generateKeyPair('RS256', { extractable: true });
      provider = new Provider(issuer, {
        clients: [
          {
            client_id: clientId,
            client_secret: clientSecret,
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
          const account = accounts.get(sub);
          return account && { accountId: sub, claims: async () => ({ sub, ...account }) };
        },
      });
      handle = provider.callback();
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
