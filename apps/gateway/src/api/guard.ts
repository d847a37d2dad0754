import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ApiError } from '@multiclaw/protocol';

/**
 * The checks every request and WebSocket upgrade passes before anything
 * else runs (DESIGN.md §6). Pure functions of the request, so the HTTP routes
 * and the upgrade path share them exactly.
 */
export interface GuardPolicy {
  port: number;
  /** Extra `host:port` authorities, for an explicitly allowed non-loopback bind. */
  extraHosts: string[];
  allowedOrigins: readonly string[];
}

/** Host must name the gateway on loopback: anything else may be a DNS-rebinding page. */
export function checkHost(req: IncomingMessage, policy: GuardPolicy): ApiError | undefined {
  const host = req.headers.host?.toLowerCase();
  const allowed = [
    `127.0.0.1:${policy.port}`,
    `localhost:${policy.port}`,
    `[::1]:${policy.port}`,
    ...policy.extraHosts.map((extra) => extra.toLowerCase()),
  ];
  if (host && allowed.includes(host)) return undefined;
  return new ApiError('GATEWAY_HOST_NOT_ALLOWED', 'This Host is not allowed to reach the gateway');
}

/** An Origin, when a browser sends one, must be on the allowlist: a page elsewhere gets 403. */
export function checkOrigin(req: IncomingMessage, policy: GuardPolicy): ApiError | undefined {
  const origin = req.headers.origin;
  if (origin === undefined || policy.allowedOrigins.includes(origin)) return undefined;
  return new ApiError('GATEWAY_ORIGIN_NOT_ALLOWED', 'This Origin is not allowed to call the gateway');
}

/** The bearer token of an HTTP request; never read from the URL. */
export function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  const match = header ? /^Bearer ([^\s]+)$/i.exec(header) : null;
  return match?.[1];
}

/** Constant-time comparison: hashing first makes the lengths equal, so nothing leaks through timing. */
export function tokensMatch(presented: string | undefined, expected: string): boolean {
  if (presented === undefined) return false;
  const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(presented), digest(expected));
}

/** One key per client: IPv4-mapped IPv6 addresses are the IPv4 address they carry. */
export function clientKey(remoteAddress: string | undefined): string {
  const address = remoteAddress ?? 'unknown';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
