/**
 * The one door out of the gateway. Every outbound HTTP(S) request goes
 * through `Egress.fetch`, which allows only origins on an allowlist (the
 * configured model providers, later the linked cloud and the update feed)
 * and refuses and logs anything else. This is the only gateway source file
 * allowed to call the global `fetch` (see src/architecture/no-direct-egress.test.ts
 * and docs/connections.md).
 */
import { ApiError } from '@multiclaw/protocol';
import { type ClientOptions, WebSocket } from 'ws';

export interface Egress {
  fetch(url: string | URL, init?: RequestInit): Promise<Response>;
  /** A client WebSocket (ws: or wss:) to an allowed origin (its http: or https: twin). Redirects are not followed. */
  websocket(url: string | URL, options?: ClientOptions): WebSocket;
}

export interface EgressLogger {
  warn(obj: Record<string, unknown>, msg: string): void;
}

export interface EgressOptions {
  /** Allowed origins such as 'https://api.openai.com' or 'http://127.0.0.1:11434'; read on every call, so config reloads apply. */
  allowedOrigins: () => readonly string[];
  log: EgressLogger;
}

const ALLOWED_PROTOCOLS = new Set(['http:', 'https:']);
const WEBSOCKET_TWINS: Record<string, string> = { 'ws:': 'http:', 'wss:': 'https:' };
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

function parseUrl(value: string | URL, base?: URL): URL | undefined {
  try {
    return new URL(value, base);
  } catch {
    return undefined;
  }
}

/**
 * The normalised origin (scheme, lower-case punycode host, port without the
 * scheme's default) of an http(s) URL or origin string; undefined for
 * anything else. WHATWG URL parsing does the normalising.
 */
export function normaliseOrigin(value: string | URL): string | undefined {
  const url = parseUrl(value);
  if (!url || !ALLOWED_PROTOCOLS.has(url.protocol)) return undefined;
  return url.origin;
}

/** The origins of the configured providers' base URLs, normalised and de-duplicated. */
export function originsFromProviders(providers: Record<string, { baseUrl: string }>): string[] {
  const origins = new Set<string>();
  for (const provider of Object.values(providers)) {
    const origin = normaliseOrigin(provider.baseUrl);
    if (origin) origins.add(origin);
  }
  return [...origins];
}

export function createEgress(options: EgressOptions): Egress {
  const { log } = options;

  function isAllowed(origin: string): boolean {
    return options.allowedOrigins().some((entry) => normaliseOrigin(entry) === origin);
  }

  /** Logs only the scheme and origin: a full URL or its query could carry secrets. */
  function refuse(target: URL | undefined, reason: string): ApiError {
    const origin = target && ALLOWED_PROTOCOLS.has(target.protocol) ? target.origin : undefined;
    const scheme = target?.protocol;
    log.warn(
      { egress: { origin, scheme, reason } },
      `egress refused: ${origin ?? `a ${scheme ?? 'malformed'} URL`} (${reason})`,
    );
    return new ApiError(
      'EGRESS_REFUSED',
      origin
        ? `The gateway refused to connect to ${origin}: it is not an allowed destination (see docs/connections.md).`
        : 'The gateway refused an outbound request: only http and https URLs to allowed destinations are permitted.',
    );
  }

  function check(target: URL | undefined, reason: string): URL {
    if (!target || !ALLOWED_PROTOCOLS.has(target.protocol)) throw refuse(target, 'scheme not allowed');
    if (!isAllowed(target.origin)) throw refuse(target, reason);
    return target;
  }

  return {
    websocket(url, options) {
      const target = parseUrl(url);
      const twin = target && WEBSOCKET_TWINS[target.protocol];
      if (twin) target.protocol = twin;
      const checked = check(twin ? target : undefined, 'origin not on the allowlist');
      checked.protocol = checked.protocol === 'https:' ? 'wss:' : 'ws:';
      return new WebSocket(checked, { ...options, followRedirects: false });
    },
    async fetch(url, init) {
      const target = check(parseUrl(url), 'origin not on the allowlist');
      // Redirects are never followed: a 3xx reaches the caller as it is, and
      // one that points off the allowlist is refused outright.
      const response = await fetch(target, { ...init, redirect: 'manual' });
      const location = response.headers.get('location');
      if (REDIRECT_STATUSES.has(response.status) && location !== null) {
        const next = parseUrl(location, target);
        if (!next || !ALLOWED_PROTOCOLS.has(next.protocol) || !isAllowed(next.origin)) {
          await response.body?.cancel().catch(() => undefined);
          throw refuse(next, 'redirect to a destination not on the allowlist');
        }
      }
      return response;
    },
  };
}
