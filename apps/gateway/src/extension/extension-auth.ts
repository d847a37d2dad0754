import type { IncomingMessage } from 'node:http';
import { ApiError } from '@multiclaw/protocol';
import { type AuthFailureLimiter, budgetKey } from '../api/auth-failure-limiter.js';
import { bearerToken, checkHost, type GuardPolicy } from '../api/guard.js';
import type { ExtensionAccess } from './extension-access.js';
import type { ExtensionPairing } from './pairings.js';

/**
 * The two ways into the gateway that belong to the browser extension, declared
 * on a route as `config: { extension: … }` (http-auth.ts runs this instead of
 * the gateway-token check there, and only there):
 * - `pairing-code`: no token; the Origin must be some `chrome-extension://<id>`
 *   (no web page can send one), the body carries the code;
 * - `extension-token`: the extension token, from the very extension it was
 *   issued to (its Origin), and no gateway token.
 */
export type ExtensionRouteAccess = 'pairing-code' | 'extension-token';

/** Chrome's extension ids are 32 letters a–p. */
export const EXTENSION_ORIGIN = /^chrome-extension:\/\/[a-p]{32}$/;

export function checkExtensionRequest(
  req: IncomingMessage,
  access: ExtensionRouteAccess,
  deps: { policy: GuardPolicy; extension?: ExtensionAccess | undefined; limiter: AuthFailureLimiter },
): { refused: ApiError } | { refused?: undefined; pairing?: ExtensionPairing } {
  const wrongHost = checkHost(req, deps.policy);
  if (wrongHost) return { refused: wrongHost };
  const origin = req.headers.origin;
  if (!origin || !EXTENSION_ORIGIN.test(origin))
    return {
      refused: new ApiError(
        'EXTENSION_ORIGIN_REQUIRED',
        'Only the MultiClaw browser extension can call this route',
      ),
    };
  if (!deps.extension) return { refused: new ApiError('NOT_FOUND', 'No such route') };
  if (access === 'pairing-code') return {};

  const presented = bearerToken(req);
  const pairing = deps.extension.verify(presented);
  if (pairing && pairing.origin === origin) return { pairing };
  const invalid = new ApiError(
    'EXTENSION_TOKEN_INVALID',
    'The extension token is missing, unknown or revoked: pair the extension again from its popup',
  );
  if (presented === undefined) return { refused: invalid };
  // A wrong token spends the sender's guessing budget, exactly like a wrong gateway token.
  const key = budgetKey(req.socket.remoteAddress);
  const spent = deps.limiter.refusal(key);
  if (spent) return { refused: spent };
  deps.limiter.recordFailure(key);
  return { refused: invalid };
}
