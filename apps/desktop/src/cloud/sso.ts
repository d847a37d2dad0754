import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiError, type DesktopEvent, OidcProviderInfo, Page } from '@multiclaw/protocol';
import type { Logger } from 'pino';
import { findOnPath, launchDetached } from '../system/processes.js';
import { cloudFetch, cloudRefusal } from './cloud-egress.js';
import type { CloudSession } from './cloud-session.js';

/** The loopback path the cloud's OIDC providers list as the desktop's redirect (any port). */
export const SSO_CALLBACK_PATH = '/oidc/callback';
/** How long the one-shot listener waits for the browser to come back. */
const SSO_WAIT_MS = 10 * 60_000;

/** Opens `url` in the system browser; false when it could not (the UI shows the URL to open by hand). */
export type BrowserOpener = (url: string) => Promise<boolean> | boolean;

/** xdg-open (or macOS `open`) when there is a display, else nothing. */
export function systemBrowserOpener(env: NodeJS.ProcessEnv): BrowserOpener {
  return (url) => {
    if (process.platform === 'linux' && !env.DISPLAY && !env.WAYLAND_DISPLAY) return false;
    const opener = findOnPath(process.platform === 'darwin' ? ['open'] : ['xdg-open'], env.PATH ?? '');
    if (!opener) return false;
    launchDetached(opener, [url], { env });
    return true;
  };
}

export interface SsoDeps {
  session: CloudSession;
  open: BrowserOpener;
  publish: (event: DesktopEvent) => void;
  log: Logger;
}

/**
 * Single sign-on as RFC 8252 has it: a one-shot listener on 127.0.0.1 (any
 * port) for the redirect, an S256 PKCE pair and a state value of our own;
 * the browser goes to the cloud's start URL and comes back with a one-time
 * code, which the host exchanges with the verifier. A sign-in started again
 * replaces the one waiting.
 */
export class SsoFlow {
  private pending: { close: () => void } | undefined;

  constructor(private readonly deps: SsoDeps) {}

  async start(provider: string): Promise<{ url: string; opened: boolean }> {
    const base = await this.deps.session.configuredBase();
    await this.checkProvider(base, provider);
    this.pending?.close();
    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const state = randomBytes(24).toString('base64url');
    const server = createServer();
    let timer: NodeJS.Timeout | undefined;
    const close = () => {
      clearTimeout(timer);
      server.closeAllConnections();
      server.close();
      if (this.pending?.close === close) this.pending = undefined;
    };
    this.pending = { close };
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    timer = setTimeout(close, SSO_WAIT_MS);
    timer.unref();
    const redirectUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}${SSO_CALLBACK_PATH}`;
    server.on('request', (request: IncomingMessage, response: ServerResponse) => {
      this.complete(base, request, response, { state, verifier, redirectUri })
        .then((done) => {
          if (done) close();
        })
        .catch((error: unknown) => {
          this.deps.log.error({ err: error }, 'single sign-on failed');
          close();
        });
    });
    const url = new URL(`${base}/v1/auth/oidc/${encodeURIComponent(provider)}/start`);
    url.searchParams.set('redirect_uri', redirectUri);
    url.searchParams.set('code_challenge', challenge);
    url.searchParams.set('code_challenge_method', 'S256');
    url.searchParams.set('state', state);
    let opened = false;
    try {
      opened = await this.deps.open(url.href);
    } catch (error) {
      this.deps.log.warn({ err: error }, 'could not open the system browser for single sign-on');
    }
    return { url: url.href, opened };
  }

  close(): void {
    this.pending?.close();
  }

  /** A provider the cloud does not offer is refused here, not on a browser error page. */
  private async checkProvider(base: string, provider: string): Promise<void> {
    const answer = await cloudFetch(base, 'GET', '/v1/auth/oidc/providers');
    if (answer.status !== 200) throw cloudRefusal(base, answer);
    const offered = Page(OidcProviderInfo).safeParse(answer.body);
    if (!offered.success)
      throw new ApiError(
        'DESKTOP_CLOUD_UNREACHABLE',
        `${base} answered the provider list with an unexpected body`,
      );
    if (!offered.data.items.some((item) => item.name === provider)) {
      const names = offered.data.items.map((item) => item.displayName).join(', ');
      throw new ApiError(
        'NOT_FOUND',
        names
          ? `This cloud does not offer single sign-on with "${provider}". It offers: ${names}.`
          : 'This cloud offers no single sign-on; sign in with email and password.',
      );
    }
  }

  /** Answers the browser's visit; true once the flow is over (done or refused), false for a stray request. */
  private async complete(
    base: string,
    request: IncomingMessage,
    response: ServerResponse,
    flow: { state: string; verifier: string; redirectUri: string },
  ): Promise<boolean> {
    const url = new URL(request.url ?? '/', flow.redirectUri);
    if (request.method !== 'GET' || url.pathname !== SSO_CALLBACK_PATH) {
      page(response, 404, 'Not found', 'This address only receives the sign-in.');
      return false;
    }
    const state = url.searchParams.get('state') ?? '';
    if (!sameText(state, flow.state)) {
      page(
        response,
        400,
        'Sign-in not accepted',
        'This sign-in was not started by this app. Start it again from MultiClaw.',
      );
      return false;
    }
    const code = url.searchParams.get('code');
    if (!code) {
      const reason = url.searchParams.get('error_description') ?? url.searchParams.get('error') ?? 'no code';
      await this.failed(`Single sign-on did not complete: ${reason}`);
      page(response, 400, 'Sign-in did not complete', `${reason}. Go back to MultiClaw and try again.`);
      return true;
    }
    const answer = await cloudFetch(base, 'POST', '/v1/auth/oidc/token', {
      body: { code, codeVerifier: flow.verifier, clientName: 'MultiClaw desktop' },
    });
    if (answer.status !== 200) {
      const refusal = cloudRefusal(base, answer);
      await this.failed(refusal.message);
      page(
        response,
        400,
        'Sign-in did not complete',
        `${refusal.message} Go back to MultiClaw and try again.`,
      );
      return true;
    }
    await this.deps.session.adopt(base, answer);
    page(response, 200, 'Signed in', 'You are signed in to MultiClaw. You can close this tab.');
    return true;
  }

  private async failed(message: string): Promise<void> {
    const account = await this.deps.session.status();
    this.deps.publish({ type: 'account.changed', payload: { account, reason: 'sso-failed', message } });
  }
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function page(response: ServerResponse, status: number, title: string, text: string): void {
  const html = (value: string) => value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  response.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'referrer-policy': 'no-referrer',
    'content-security-policy': "default-src 'none'",
  });
  response.end(
    `<!doctype html><html lang="en"><meta charset="utf-8"><title>${html(title)}</title><h1>${html(title)}</h1><p>${html(text)}</p></html>`,
  );
}
