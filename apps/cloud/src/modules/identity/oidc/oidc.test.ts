import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ErrorEnvelope, LoginResponse } from '@multiclaw/protocol';
import { type TestIdp as Idp, type NextLogin, startTestIdp } from '@multiclaw/test-support/oidc-idp';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp } from '../../../../test/support/app.js';

/**
 * Single sign-on end to end: real `oidc-provider` instances on 127.0.0.1, the
 * real cloud listening on 127.0.0.1, and a small cookie-keeping "browser"
 * (fetch, redirects followed by hand) standing in for the system browser.
 * The provider's interaction (login + consent) is completed programmatically.
 */

const CLIENT_ID = 'multiclaw-cloud';
const CLIENT_SECRET = randomBytes(32).toString('base64url');
const APP_REDIRECT = 'http://127.0.0.1:53682/desktop/callback';
const PASSWORD = 'correct horse battery staple 42';

// ---------------------------------------------------------------- helpers

async function listen(server: Server, port = 0): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

async function freePort(): Promise<number> {
  const server = createServer();
  const origin = await listen(server);
  await close(server);
  return Number(new URL(origin).port);
}

/** Two providers share the cloud's client secret. Short ID tokens, so a test can move the
 * cloud's clock past their expiry while the login request (10 minutes) is still live. */
const IDP_OPTIONS = {
  clientSecret: CLIENT_SECRET,
  ttl: { IdToken: 60, AccessToken: 600, AuthorizationCode: 60, Interaction: 600, Session: 600, Grant: 600 },
};

async function startIdp(redirectUris: string[]): Promise<Idp> {
  const idp = await startTestIdp(IDP_OPTIONS);
  idp.next = { accountId: 'nobody' };
  await idp.configure(redirectUris);
  return idp;
}

/** A stand-in for the system browser: keeps cookies per host:port, follows redirects by hand. */
class Browser {
  private readonly jars = new Map<string, Map<string, string>>();

  async get(url: string): Promise<Response> {
    const target = new URL(url);
    const jar = this.jars.get(target.host) ?? new Map<string, string>();
    this.jars.set(target.host, jar);
    const cookie = [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
    const response = await fetch(target, { redirect: 'manual', headers: cookie ? { cookie } : {} });
    for (const line of response.headers.getSetCookie()) {
      const pair = line.split(';', 1)[0] ?? '';
      const equals = pair.indexOf('=');
      if (equals > 0) jar.set(pair.slice(0, equals).trim(), pair.slice(equals + 1).trim());
    }
    return response;
  }

  /** Follows redirects from `url` until one leads to a URL starting with `stopAt`, and returns it (not fetched). */
  async followUntil(url: string, stopAt: string): Promise<URL> {
    let current = url;
    for (let hop = 0; hop < 12; hop += 1) {
      if (current.startsWith(stopAt)) return new URL(current);
      const response = await this.get(current);
      const body = await response.text();
      const location = response.headers.get('location');
      if (response.status < 300 || response.status >= 400 || !location) {
        throw new Error(`the flow stopped at ${current}: ${response.status} ${body.slice(0, 300)}`);
      }
      current = new URL(location, current).href;
    }
    throw new Error('too many redirects');
  }
}

function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

function locationOf(response: Response): URL {
  const location = response.headers.get('location');
  if (!location) throw new Error(`expected a redirect, got ${response.status}`);
  return new URL(location);
}

async function envelopeOf(response: Response) {
  return ErrorEnvelope.parse(await response.json()).error;
}

// ---------------------------------------------------------------- the world

let cloud: Awaited<ReturnType<typeof createTestApp>>;
let base = '';
let idpA: Idp;
let idpB: Idp;
let issuerProxy: Server;
let proxyOrigin = '';
let clockOffsetMs = 0;
const now = () => new Date(Date.now() + clockOffsetMs);

const callbackOf = (cloudBase: string, provider: string) => `${cloudBase}/v1/auth/oidc/${provider}/callback`;

beforeAll(async () => {
  const cloudPort = await freePort();
  base = `http://127.0.0.1:${cloudPort}`;
  idpA = await startIdp([
    callbackOf(base, 'testidp'),
    callbackOf(base, 'rewritten'),
    callbackOf(base, 'honest'),
  ]);
  // B also accepts the testidp callback: that is what a mix-up attack needs.
  idpB = await startIdp([callbackOf(base, 'otheridp'), callbackOf(base, 'testidp')]);

  // Serves provider A's discovery document under other issuer URLs: `/honest`
  // unchanged (so its `issuer` is A's, not the configured one), `/rewritten`
  // with `issuer` rewritten to the proxy URL while every endpoint stays A's,
  // so A's ID tokens (iss = A) arrive for a provider configured as the proxy.
  issuerProxy = createServer((req, res) => {
    const match = /^\/(honest|rewritten)\/\.well-known\/openid-configuration$/.exec(req.url ?? '');
    if (!match) {
      res.statusCode = 404;
      res.end();
      return;
    }
    fetch(`${idpA.issuer}/.well-known/openid-configuration`)
      .then((response) => response.json() as Promise<Record<string, unknown>>)
      .then((document) => {
        if (match[1] === 'rewritten') {
          document.issuer = `${proxyOrigin}/rewritten`;
          document.authorization_response_iss_parameter_supported = false;
        }
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(document));
      })
      .catch(() => {
        res.statusCode = 502;
        res.end();
      });
  });
  proxyOrigin = await listen(issuerProxy);

  const provider = (name: string, issuer: string, extra: Record<string, unknown> = {}) => ({
    name,
    displayName: name === 'testidp' ? 'Test IdP' : name,
    issuer,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    redirectUris: ['http://127.0.0.1/desktop/callback', 'http://[::1]/desktop/callback'],
    ...extra,
  });
  const env = {
    PUBLIC_URL: base,
    AUTH_RATE_LIMIT_MAX: '100000',
    // Fixed keys, so the fallback wiring below signs what the app verifies.
    MULTICLAW_MASTER_KEYS: `1:${randomBytes(32).toString('base64')}`,
    MULTICLAW_TOKEN_SIGNING_KEYS: `k1:${randomBytes(32).toString('base64')}`,
    OIDC_PROVIDERS: JSON.stringify([
      provider('testidp', idpA.issuer, { linkVerifiedEmail: true }),
      provider('otheridp', idpB.issuer),
      provider('rewritten', `${proxyOrigin}/rewritten`),
      provider('honest', `${proxyOrigin}/honest`),
    ]),
  };
  cloud = await createTestApp({
    env,
    now,
  });
  await cloud.app.listen({ host: '127.0.0.1', port: cloudPort });
});

afterAll(async () => {
  await cloud?.close();
  for (const idp of [idpA, idpB]) await idp?.close();
  if (issuerProxy) await close(issuerProxy);
});

beforeEach(async () => {
  await newFailures();
});

afterEach(() => {
  clockOffsetMs = 0;
});

// ---------------------------------------------------------------- flows

function startUrl(
  provider: string,
  options: { redirectUri?: string; challenge?: string; state?: string; method?: string } = {},
) {
  const query = new URLSearchParams({
    redirect_uri: options.redirectUri ?? APP_REDIRECT,
    code_challenge: options.challenge ?? pkce().challenge,
    code_challenge_method: options.method ?? 'S256',
    ...(options.state ? { state: options.state } : {}),
  });
  return `${base}/v1/auth/oidc/${provider}/start?${query}`;
}

/**
 * Runs the browser part of a sign-in up to the provider's redirect back to
 * the cloud, and returns that callback URL without visiting it.
 */
async function throughProvider(
  provider: string,
  idp: Idp,
  next: NextLogin,
  options: { redirectUri?: string; rewriteTo?: string } = {},
) {
  idp.next = next;
  const { verifier, challenge } = pkce();
  const appState = randomBytes(12).toString('base64url');
  const browser = new Browser();
  const started = await browser.get(startUrl(provider, { challenge, state: appState, ...options }));
  expect(started.status).toBe(302);
  let authorizationUrl = locationOf(started);
  if (options.rewriteTo) {
    // Mix-up: the same authorization request, answered by another provider.
    authorizationUrl = new URL(authorizationUrl.pathname + authorizationUrl.search, options.rewriteTo);
  }
  const callbackUrl = await browser.followUntil(authorizationUrl.href, callbackOf(base, provider));
  return { callbackUrl, verifier, appState };
}

/** Delivers the provider's redirect to the cloud; returns the cloud's answer. */
function deliver(callbackUrl: URL): Promise<Response> {
  return fetch(callbackUrl, { redirect: 'manual' });
}

/** The cloud's redirect to the app's loopback URI, checked to be exactly there. */
function toApp(response: Response): URLSearchParams {
  expect(response.status).toBe(302);
  const location = locationOf(response);
  expect(`${location.origin}${location.pathname}`).toBe(APP_REDIRECT);
  return location.searchParams;
}

function exchange(code: string, codeVerifier: string): Promise<Response> {
  return fetch(`${base}/v1/auth/oidc/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code, codeVerifier, clientName: 'MultiClaw desktop' }),
  });
}

async function signIn(provider: string, idp: Idp, accountId: string) {
  const { callbackUrl, verifier, appState } = await throughProvider(provider, idp, { accountId });
  const params = toApp(await deliver(callbackUrl));
  expect(params.get('error')).toBeNull();
  const code = params.get('code') ?? '';
  return { code, verifier, appState, params };
}

const seenFailures = new Set<string>();

/**
 * The `auth.sso.login.failed` events recorded since the last call (or since
 * the test began), oldest first. Not ordered by time: a test may move the clock.
 */
async function newFailures(): Promise<Array<Record<string, unknown>>> {
  const events = await cloud.app.db.auditEvent.findMany({ where: { action: 'auth.sso.login.failed' } });
  const fresh = events.filter((event) => !seenFailures.has(event.id));
  for (const event of fresh) seenFailures.add(event.id);
  return fresh.map((event) => event.metadata as Record<string, unknown>);
}

/** The one failure recorded since the last look. */
async function lastFailure(): Promise<Record<string, unknown> | undefined> {
  const fresh = await newFailures();
  expect(fresh).toHaveLength(1);
  return fresh[0];
}

async function register(email: string, options: { verified?: boolean } = {}) {
  const response = await cloud.app.inject({
    method: 'POST',
    url: '/v1/auth/register',
    payload: { email, password: PASSWORD },
  });
  expect(response.statusCode).toBe(201);
  const userId = (response.json() as { user: { id: string } }).user.id;
  if (options.verified) {
    // As if the person had entered the code from the verification mail.
    await cloud.app.db.user.update({ where: { id: userId }, data: { emailVerifiedAt: new Date() } });
  }
  return userId;
}

function stateHashOf(callbackUrl: URL) {
  return new Uint8Array(
    createHash('sha256')
      .update(callbackUrl.searchParams.get('state') ?? '')
      .digest(),
  );
}

// ---------------------------------------------------------------- tests

describe('OIDC providers list', () => {
  it('names each configured provider for the sign-in screen, and nothing else', async () => {
    const response = await fetch(`${base}/v1/auth/oidc/providers`);
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(JSON.parse(text)).toEqual({
      items: [
        { name: 'testidp', displayName: 'Test IdP' },
        { name: 'otheridp', displayName: 'otheridp' },
        { name: 'rewritten', displayName: 'rewritten' },
        { name: 'honest', displayName: 'honest' },
      ],
      nextCursor: null,
    });
    expect(text).not.toContain(CLIENT_SECRET);
    expect(text).not.toContain(idpA.issuer);
  });

  it('documents the routes in the OpenAPI description', async () => {
    const response = await cloud.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(response.statusCode).toBe(200);
    const paths = Object.keys((response.json() as { paths: Record<string, unknown> }).paths);
    expect(paths).toEqual(
      expect.arrayContaining([
        '/v1/auth/oidc/providers',
        '/v1/auth/oidc/{provider}/start',
        '/v1/auth/oidc/{provider}/callback',
        '/v1/auth/oidc/token',
      ]),
    );
  });
});

describe('OIDC sign-in, end to end', () => {
  it('creates an account on a first sign-in; the app gets tokens only through the exchange', async () => {
    idpA.accounts.set('alice-sub', { email: ' Alice@Example.COM', email_verified: true, name: 'Alice' });
    const { callbackUrl, verifier, appState } = await throughProvider('testidp', idpA, {
      accountId: 'alice-sub',
    });
    // The provider's redirect carries a code, our state, and its issuer (RFC 9207).
    expect(callbackUrl.searchParams.get('iss')).toBe(idpA.issuer);

    const response = await deliver(callbackUrl);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const params = toApp(response);
    // The browser URL holds the app's state and a one-time code: nothing else.
    expect([...params.keys()].sort()).toEqual(['code', 'state']);
    expect(params.get('state')).toBe(appState);
    const code = params.get('code') ?? '';
    expect(code).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const exchanged = await exchange(code, verifier);
    expect(exchanged.status).toBe(200);
    const body = LoginResponse.parse(await exchanged.json());
    expect(body.user).toMatchObject({ email: 'alice@example.com', name: 'Alice', emailVerified: true });

    const me = await fetch(`${base}/v1/me`, { headers: { authorization: `Bearer ${body.accessToken}` } });
    expect(me.status).toBe(200);
    expect(await me.json()).toEqual({ user: body.user });

    const db = cloud.app.db;
    const identity = await db.externalIdentity.findUnique({
      where: { issuer_subject: { issuer: idpA.issuer, subject: 'alice-sub' } },
    });
    expect(identity).toMatchObject({ userId: body.user.id, provider: 'testidp', emailVerified: true });
    expect(await db.passwordCredential.findUnique({ where: { userId: body.user.id } })).toBeNull();

    const events = await db.auditEvent.findMany({ where: { actorId: body.user.id } });
    expect(events.map((event) => event.action).sort()).toEqual([
      'auth.registered',
      'auth.sso.login.succeeded',
    ]);
    const stored = JSON.stringify(
      await db.auditEvent.findMany({ where: { action: { startsWith: 'auth.' } } }),
      (_key, value) => (typeof value === 'bigint' ? String(value) : value),
    );
    for (const secret of [code, verifier, body.accessToken, body.refreshToken])
      expect(stored).not.toContain(secret);
  });

  it('signs the same subject in to the same account, whatever email it asserts later', async () => {
    idpA.accounts.set('frank-sub', { email: 'frank@example.com', email_verified: true });
    const first = await signIn('testidp', idpA, 'frank-sub');
    const firstUser = LoginResponse.parse(await (await exchange(first.code, first.verifier)).json()).user;

    idpA.accounts.set('frank-sub', { email: 'frank.new@example.com', email_verified: false });
    const second = await signIn('testidp', idpA, 'frank-sub');
    const secondUser = LoginResponse.parse(await (await exchange(second.code, second.verifier)).json()).user;
    expect(secondUser.id).toBe(firstUser.id);
    expect(await cloud.app.db.user.count({ where: { email: { startsWith: 'frank' } } })).toBe(1);
  });

  it('refuses a callback whose state was never issued, without spending the real one', async () => {
    idpA.accounts.set('gina-sub', { email: 'gina@example.com', email_verified: true });
    const { callbackUrl } = await throughProvider('testidp', idpA, { accountId: 'gina-sub' });

    const forged = new URL(callbackUrl);
    forged.searchParams.set('state', randomBytes(32).toString('base64url'));
    const refused = await deliver(forged);
    expect(refused.status).toBe(400);
    expect(refused.headers.get('location')).toBeNull();
    expect(refused.headers.get('cache-control')).toBe('no-store');
    expect((await envelopeOf(refused)).code).toBe('OIDC_STATE_INVALID');
    expect(await lastFailure()).toMatchObject({ provider: 'testidp', reason: 'state_invalid' });

    const missing = new URL(callbackUrl);
    missing.searchParams.delete('state');
    expect((await envelopeOf(await deliver(missing))).code).toBe('OIDC_STATE_INVALID');
    expect(await lastFailure()).toMatchObject({ reason: 'state_invalid' });

    expect(toApp(await deliver(callbackUrl)).get('code')).toBeTruthy();
  });

  it('refuses a state delivered to another provider’s callback', async () => {
    idpA.accounts.set('hank-sub', { email: 'hank@example.com', email_verified: true });
    const { callbackUrl } = await throughProvider('testidp', idpA, { accountId: 'hank-sub' });
    const elsewhere = new URL(`${callbackOf(base, 'otheridp')}${callbackUrl.search}`);
    const refused = await deliver(elsewhere);
    expect(refused.status).toBe(400);
    expect((await envelopeOf(refused)).code).toBe('OIDC_STATE_INVALID');
  });

  it('refuses a replayed authorization response, and the provider refuses a replayed code', async () => {
    idpA.accounts.set('ivan-sub', { email: 'ivan@example.com', email_verified: true });
    const { callbackUrl } = await throughProvider('testidp', idpA, { accountId: 'ivan-sub' });
    expect(toApp(await deliver(callbackUrl)).get('code')).toBeTruthy();

    // Our own check: the state is spent.
    const replay = await deliver(callbackUrl);
    expect(replay.status).toBe(400);
    expect((await envelopeOf(replay)).code).toBe('OIDC_STATE_INVALID');
    expect(await lastFailure()).toMatchObject({ reason: 'state_invalid' });

    // With our check out of the way, the provider itself refuses the used code.
    await cloud.app.db.oidcLoginRequest.update({
      where: { stateHash: stateHashOf(callbackUrl) },
      data: { completedAt: null, exchangeCodeHash: null },
    });
    const params = toApp(await deliver(callbackUrl));
    expect(params.get('code')).toBeNull();
    expect(params.get('error')).toBe('OIDC_RESPONSE_INVALID');
    expect(await lastFailure()).toMatchObject({
      reason: 'token_request_failed',
      providerError: 'invalid_grant',
    });
  });

  it('refuses an ID token whose nonce is not the one sent', async () => {
    idpA.accounts.set('judy-sub', { email: 'judy@example.com', email_verified: true });
    const { callbackUrl } = await throughProvider('testidp', idpA, { accountId: 'judy-sub' });
    await cloud.app.db.oidcLoginRequest.update({
      where: { stateHash: stateHashOf(callbackUrl) },
      data: { nonce: randomBytes(32).toString('base64url') },
    });
    const params = toApp(await deliver(callbackUrl));
    expect(params.get('error')).toBe('OIDC_RESPONSE_INVALID');
    expect(params.get('code')).toBeNull();
    expect(await lastFailure()).toMatchObject({ reason: 'nonce_mismatch' });
    expect(
      await cloud.app.db.externalIdentity.count({ where: { issuer: idpA.issuer, subject: 'judy-sub' } }),
    ).toBe(0);
  });

  it('refuses a response from another provider (mix-up), with or without its iss', async () => {
    idpB.accounts.set('mallory-sub', { email: 'mallory@example.com', email_verified: true });
    const withIss = await throughProvider(
      'testidp',
      idpB,
      { accountId: 'mallory-sub' },
      { rewriteTo: idpB.issuer },
    );
    expect(withIss.callbackUrl.searchParams.get('iss')).toBe(idpB.issuer);
    const first = toApp(await deliver(withIss.callbackUrl));
    expect(first.get('error')).toBe('OIDC_RESPONSE_INVALID');
    expect(await lastFailure()).toMatchObject({ reason: 'issuer_mismatch' });

    const withoutIss = await throughProvider(
      'testidp',
      idpB,
      { accountId: 'mallory-sub' },
      { rewriteTo: idpB.issuer },
    );
    withoutIss.callbackUrl.searchParams.delete('iss');
    const second = toApp(await deliver(withoutIss.callbackUrl));
    expect(second.get('error')).toBe('OIDC_RESPONSE_INVALID');
    expect(await cloud.app.db.user.count({ where: { email: 'mallory@example.com' } })).toBe(0);
  });

  it('refuses an ID token whose iss is not the configured issuer', async () => {
    // Provider "rewritten" is configured with the proxy's issuer; its discovery
    // document agrees, but its endpoints are A's, so the ID token says iss = A.
    idpA.accounts.set('kate-sub', { email: 'kate@example.com', email_verified: true });
    const { callbackUrl } = await throughProvider('rewritten', idpA, { accountId: 'kate-sub' });
    callbackUrl.searchParams.delete('iss');
    const params = toApp(await deliver(callbackUrl));
    expect(params.get('error')).toBe('OIDC_RESPONSE_INVALID');
    expect(await lastFailure()).toMatchObject({ provider: 'rewritten', reason: 'issuer_mismatch' });
    expect(await cloud.app.db.externalIdentity.count({ where: { subject: 'kate-sub' } })).toBe(0);
  });

  it('refuses a provider whose discovery document names another issuer', async () => {
    const response = await fetch(startUrl('honest'), { redirect: 'manual' });
    expect(response.status).toBe(502);
    expect((await envelopeOf(response)).code).toBe('OIDC_PROVIDER_UNAVAILABLE');
  });

  it('checks the ID token against the cloud’s clock', async () => {
    idpA.accounts.set('liam-sub', { email: 'liam@example.com', email_verified: true });
    const { callbackUrl } = await throughProvider('testidp', idpA, { accountId: 'liam-sub' });
    clockOffsetMs = 5 * 60 * 1000; // the ID token lives 60 s; the login request 10 min
    const params = toApp(await deliver(callbackUrl));
    expect(params.get('error')).toBe('OIDC_RESPONSE_INVALID');
    expect(await lastFailure()).toMatchObject({ reason: 'id_token_expired' });
  });

  it('passes the provider’s refusal (the person cancelled) back to the app', async () => {
    const { callbackUrl, appState } = await throughProvider('testidp', idpA, { error: 'access_denied' });
    expect(callbackUrl.searchParams.get('error')).toBe('access_denied');
    const params = toApp(await deliver(callbackUrl));
    expect(params.get('error')).toBe('OIDC_PROVIDER_DENIED');
    expect(params.get('state')).toBe(appState);
    expect(await lastFailure()).toMatchObject({ reason: 'provider_error', providerError: 'access_denied' });
  });
});

describe('OIDC account linking policy', () => {
  it('never links an unverified email to an existing password account', async () => {
    const userId = await register('bob@example.com');
    // testidp has linkVerifiedEmail on: only the verification is missing.
    for (const [subject, verified] of [
      ['bob-sub', false],
      ['bob-sub-2', 'true'],
      ['bob-sub-3', undefined],
    ] as const) {
      idpA.accounts.set(subject, { email: 'bob@example.com', email_verified: verified });
      const { callbackUrl } = await throughProvider('testidp', idpA, { accountId: subject });
      const params = toApp(await deliver(callbackUrl));
      expect(params.get('error')).toBe('OIDC_EMAIL_NOT_VERIFIED');
      expect(params.get('code')).toBeNull();
      expect(await lastFailure()).toMatchObject({ reason: 'email_not_verified' });
    }
    expect(await cloud.app.db.externalIdentity.count({ where: { userId } })).toBe(0);
    expect(await cloud.app.db.user.count({ where: { email: 'bob@example.com' } })).toBe(1);
  });

  it('links a verified email to the existing verified account when the provider’s policy allows it', async () => {
    const userId = await register('carol@example.com', { verified: true });
    idpA.accounts.set('carol-sub', { email: 'Carol@example.com', email_verified: true });
    const { code, verifier } = await signIn('testidp', idpA, 'carol-sub');
    const body = LoginResponse.parse(await (await exchange(code, verifier)).json());
    expect(body.user.id).toBe(userId);
    const linked = await cloud.app.db.auditEvent.findFirst({
      where: { action: 'auth.sso.linked', actorId: userId },
    });
    expect(linked?.metadata).toMatchObject({ provider: 'testidp', issuer: idpA.issuer });
  });

  it('refuses to link to a verified account, and to duplicate, when the provider’s policy is off', async () => {
    const userId = await register('dave@example.com', { verified: true });
    idpB.accounts.set('dave-sub', { email: 'dave@example.com', email_verified: true });
    const { callbackUrl } = await throughProvider('otheridp', idpB, { accountId: 'dave-sub' });
    const params = toApp(await deliver(callbackUrl));
    expect(params.get('error')).toBe('OIDC_ACCOUNT_EXISTS');
    expect(await lastFailure()).toMatchObject({ provider: 'otheridp', reason: 'account_exists' });
    expect(await cloud.app.db.externalIdentity.count({ where: { userId } })).toBe(0);
    expect(await cloud.app.db.user.count({ where: { email: 'dave@example.com' } })).toBe(1);
  });

  it('creates an account only for a verified email', async () => {
    idpA.accounts.set('erin-sub', { email: 'erin@example.com', email_verified: false });
    idpA.accounts.set('noemail-sub', { name: 'No Email' });
    for (const [subject, reason] of [
      ['erin-sub', 'email_not_verified'],
      ['noemail-sub', 'email_missing'],
    ]) {
      const { callbackUrl } = await throughProvider('testidp', idpA, { accountId: subject ?? '' });
      expect(toApp(await deliver(callbackUrl)).get('error')).toBe('OIDC_EMAIL_NOT_VERIFIED');
      expect(await lastFailure()).toMatchObject({ reason });
    }
    expect(await cloud.app.db.user.count({ where: { email: 'erin@example.com' } })).toBe(0);
  });
});

describe('OIDC and an account that never proved its email', () => {
  /** What an attacker does who registered the victim's address first, with a password. */
  async function squat(email: string) {
    const userId = await register(email);
    const login = await cloud.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email, password: PASSWORD },
    });
    const session = LoginResponse.parse(login.json());
    expect(session.user.emailVerified).toBe(false);
    const as = (method: 'GET' | 'POST', url: string, payload?: object) =>
      cloud.app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${session.accessToken}` },
        ...(payload ? { payload } : {}),
      });
    const workspace = await as('POST', '/v1/workspaces', { name: 'Squatted' });
    expect(workspace.statusCode).toBe(201);
    // A gateway of the attacker's, linked to that workspace with their own device key.
    const gateway = await cloud.app.db.gateway.create({
      data: {
        workspaceId: workspace.json().id,
        ownerUserId: userId,
        publicKey: new Uint8Array(randomBytes(32)),
      },
    });
    return { userId, session, as, gatewayId: gateway.id };
  }

  it.each([
    ['otheridp', 'off'],
    ['testidp', 'on'],
  ] as const)(
    'the verified SSO owner takes the account over (%s, linking policy %s)',
    async (provider, _policy) => {
      const idp = provider === 'testidp' ? idpA : idpB;
      const email = `victim-${provider}@example.com`;
      const attacker = await squat(email);

      idp.accounts.set(`victim-${provider}-sub`, { email, email_verified: true });
      const { code, verifier } = await signIn(provider, idp, `victim-${provider}-sub`);
      const victim = LoginResponse.parse(await (await exchange(code, verifier)).json());
      expect(victim.user).toMatchObject({ id: attacker.userId, email, emailVerified: true });

      // The attacker's password no longer works, and every session of theirs has ended.
      const password = await cloud.app.inject({
        method: 'POST',
        url: '/v1/auth/login',
        payload: { email, password: PASSWORD },
      });
      expect(password.statusCode).toBe(401);
      expect((await attacker.as('GET', '/v1/me')).statusCode).toBe(401);
      const refresh = await cloud.app.inject({
        method: 'POST',
        url: '/v1/auth/refresh',
        payload: { refreshToken: attacker.session.refreshToken },
      });
      expect(refresh.statusCode).toBe(401);

      // What the victim keeps there from now on stays out of the attacker's reach.
      const asVictim = (method: 'GET' | 'POST', url: string, payload?: object) =>
        fetch(`${base}${url}`, {
          method,
          headers: {
            authorization: `Bearer ${victim.accessToken}`,
            ...(payload ? { 'content-type': 'application/json' } : {}),
          },
          ...(payload ? { body: JSON.stringify(payload) } : {}),
        });
      const workspace = (await (await asVictim('POST', '/v1/workspaces', { name: 'Private' })).json()) as {
        id: string;
      };
      const secret = await asVictim('POST', `/v1/workspaces/${workspace.id}/secrets`, {
        name: 'BANK_PIN',
        value: 'victim-only-1234',
      });
      expect(secret.status).toBe(201);
      const { id: secretId } = (await secret.json()) as { id: string };
      const reveal = `/v1/workspaces/${workspace.id}/secrets/${secretId}/reveal`;
      expect((await attacker.as('POST', reveal)).statusCode).toBe(401);
      expect(((await (await asVictim('POST', reveal)).json()) as { value: string }).value).toBe(
        'victim-only-1234',
      );

      const takeover = await cloud.app.db.auditEvent.findFirst({
        where: { action: 'auth.sso.unverified_account_taken_over', actorId: attacker.userId },
      });
      expect(takeover?.metadata).toMatchObject({
        provider,
        passwordRemoved: true,
        sessionsEnded: 1,
        gatewaysRevoked: 1,
      });
      const gateway = await cloud.app.db.gateway.findUniqueOrThrow({ where: { id: attacker.gatewayId } });
      expect(gateway.revokedAt).not.toBeNull();
      expect(
        await cloud.app.db.passwordCredential.findUnique({ where: { userId: attacker.userId } }),
      ).toBeNull();
    },
  );
});

describe('OIDC exchange', () => {
  async function freshCode(subject: string) {
    idpA.accounts.set(subject, { email: `${subject}@example.com`, email_verified: true });
    return signIn('testidp', idpA, subject);
  }

  it('a code is good once', async () => {
    const { code, verifier } = await freshCode('once');
    expect((await exchange(code, verifier)).status).toBe(200);
    const again = await exchange(code, verifier);
    expect(again.status).toBe(400);
    expect((await envelopeOf(again)).code).toBe('OIDC_EXCHANGE_CODE_INVALID');
  });

  it('a code expires two minutes after the callback', async () => {
    const { code, verifier } = await freshCode('late');
    clockOffsetMs = 121 * 1000;
    const late = await exchange(code, verifier);
    expect(late.status).toBe(400);
    expect((await envelopeOf(late)).code).toBe('OIDC_EXCHANGE_CODE_INVALID');
  });

  it('refuses a verifier that does not match the app’s challenge, and the code is then spent', async () => {
    const { code, verifier } = await freshCode('stolen');
    const wrong = await exchange(code, pkce().verifier);
    expect(wrong.status).toBe(400);
    expect((await envelopeOf(wrong)).code).toBe('OIDC_EXCHANGE_CODE_INVALID');
    expect(await lastFailure()).toMatchObject({ reason: 'code_verifier_mismatch' });
    expect((await exchange(code, verifier)).status).toBe(400);
  });

  it('refuses an unknown code', async () => {
    const response = await exchange(randomBytes(32).toString('base64url'), pkce().verifier);
    expect(response.status).toBe(400);
    expect((await envelopeOf(response)).code).toBe('OIDC_EXCHANGE_CODE_INVALID');
  });
});

describe('OIDC start', () => {
  it('accepts a registered loopback redirect URI on any port', async () => {
    for (const redirectUri of [
      'http://127.0.0.1:40123/desktop/callback',
      'http://127.0.0.1/desktop/callback',
      'http://[::1]:5000/desktop/callback',
    ]) {
      const response = await fetch(startUrl('testidp', { redirectUri }), { redirect: 'manual' });
      expect(response.status, redirectUri).toBe(302);
      const location = locationOf(response);
      expect(location.origin).toBe(idpA.issuer);
      expect(location.searchParams.get('redirect_uri')).toBe(callbackOf(base, 'testidp'));
      expect(location.searchParams.get('code_challenge_method')).toBe('S256');
      for (const parameter of ['state', 'nonce', 'code_challenge']) {
        expect(location.searchParams.get(parameter), parameter).toMatch(/^[A-Za-z0-9_-]{43}$/);
      }
    }
  });

  it('refuses any redirect URI that is not a registered loopback URI, without redirecting', async () => {
    for (const redirectUri of [
      'https://evil.example/desktop/callback',
      'http://evil.example:53682/desktop/callback',
      'http://localhost:53682/desktop/callback',
      'http://10.0.0.1:53682/desktop/callback',
      'http://127.0.0.1:53682/other/callback',
      'http://127.0.0.1:53682/desktop/callback?next=https://evil.example',
      'http://127.0.0.1:53682/desktop/callback#x',
      'http://user@127.0.0.1:53682/desktop/callback',
      'https://127.0.0.1:53682/desktop/callback',
      'not a url',
    ]) {
      const response = await fetch(startUrl('testidp', { redirectUri }), { redirect: 'manual' });
      expect(response.status, redirectUri).toBe(400);
      expect(response.headers.get('location')).toBeNull();
      expect((await envelopeOf(response)).code, redirectUri).toBe('OIDC_REDIRECT_URI_NOT_ALLOWED');
    }
  });

  it('requires an S256 challenge', async () => {
    const plain = await fetch(startUrl('testidp', { method: 'plain' }), { redirect: 'manual' });
    expect(plain.status).toBe(400);
    expect((await envelopeOf(plain)).code).toBe('VALIDATION_FAILED');
    const short = await fetch(startUrl('testidp', { challenge: 'abc' }), { redirect: 'manual' });
    expect(short.status).toBe(400);
  });

  it('answers 404 for a provider that is not configured', async () => {
    const start = await fetch(startUrl('nosuchidp'), { redirect: 'manual' });
    expect(start.status).toBe(404);
    expect((await envelopeOf(start)).code).toBe('NOT_FOUND');
    const callback = await fetch(`${callbackOf(base, 'nosuchidp')}?state=x&code=y`, { redirect: 'manual' });
    expect(callback.status).toBe(404);
    expect((await envelopeOf(callback)).code).toBe('NOT_FOUND');
  });
});
