import { ApiError } from '@multiclaw/protocol';

/**
 * The checks every request and the event stream's upgrade pass before
 * anything else: pure functions of the headers, so both paths share them.
 */
export interface HostAddress {
  /** Known once listening (0 asks for a free port). */
  port: number;
}

/** Host must name this host on loopback: anything else may be a DNS-rebinding page. */
export function checkHost(host: string | undefined, address: HostAddress): ApiError | undefined {
  const allowed = [`127.0.0.1:${address.port}`, `localhost:${address.port}`];
  if (host !== undefined && allowed.includes(host.toLowerCase())) return undefined;
  return new ApiError('DESKTOP_HOST_NOT_ALLOWED', 'This Host is not allowed to reach the desktop host');
}

/** An Origin, when one is sent, must be the host's own: a page on any other site gets 403. */
export function checkOrigin(origin: string | undefined, address: HostAddress): ApiError | undefined {
  if (origin === undefined) return undefined;
  const own = [`http://127.0.0.1:${address.port}`, `http://localhost:${address.port}`];
  if (own.includes(origin.toLowerCase())) return undefined;
  return new ApiError('DESKTOP_ORIGIN_NOT_ALLOWED', 'This Origin is not allowed to call the desktop host');
}

export const SECRET_REFUSED = () =>
  new ApiError(
    'DESKTOP_SECRET_INVALID',
    'Missing or wrong window secret: open the window from the URL that "multiclaw-desktop start" printed',
  );
