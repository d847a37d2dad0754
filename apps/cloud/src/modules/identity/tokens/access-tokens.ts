import { randomUUID, sign as signBytes } from 'node:crypto';
import { ApiError, Id } from '@multiclaw/protocol';
import { exportJWK, type JWK, errors as joseErrors, jwtVerify } from 'jose';
import type { Config } from '../../../config.js';

export const ACCESS_TOKEN_AUDIENCE = 'multiclaw-api';
export const ACCESS_TOKEN_TYPE = 'at+jwt';

export type AccessTokenClaims = { userId: string; sessionId: string };

/** Verified tokens remembered per process before the memo is cleared. */
const MAX_REMEMBERED_TOKENS = 10_000;

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

type Keyring = Config['signingKeys'];

/**
 * Access tokens: EdDSA (Ed25519) JWTs, `typ: at+jwt` (RFC 9068). The first key
 * of the ring signs; every key verifies, so a new key can be put first while
 * tokens signed by the old one run out. Verification pins the algorithm, the
 * key (by `kid`), the issuer, the audience and the type; anything else fails.
 */
export function createAccessTokens(options: {
  keyring: Keyring;
  issuer: string;
  ttlSeconds: number;
  now: () => Date;
}) {
  const { keyring, issuer, ttlSeconds, now } = options;
  const signing = keyring[0];
  if (!signing) throw new Error('no token signing key configured');
  const byKid = new Map(keyring.map((key) => [key.kid, key.publicKey]));
  // Revocation is not decided here (the session check on every request does
  // that): a token's signature and claims are, and they never change.
  const verified = new Map<string, { claims: AccessTokenClaims; issuedAt: number; expiresAt: number }>();

  return {
    ttlSeconds,

    /**
     * Signs in-line with node:crypto (an Ed25519 signature is tens of
     * microseconds): WebCrypto would queue it on the libuv pool behind the
     * sign-in's argon2 work. The token is the one jose would build.
     */
    async sign({ userId, sessionId }: AccessTokenClaims): Promise<string> {
      const issuedAt = Math.floor(now().getTime() / 1000);
      const header = base64url({ alg: 'EdDSA', typ: ACCESS_TOKEN_TYPE, kid: signing.kid });
      const payload = base64url({
        sid: sessionId,
        iss: issuer,
        aud: ACCESS_TOKEN_AUDIENCE,
        sub: userId,
        jti: randomUUID(),
        iat: issuedAt,
        exp: issuedAt + ttlSeconds,
      });
      const input = `${header}.${payload}`;
      return `${input}.${signBytes(null, Buffer.from(input), signing.privateKey).toString('base64url')}`;
    },

    /** Returns the claims of a valid token; throws UNAUTHENTICATED for anything else. */
    async verify(token: string): Promise<AccessTokenClaims> {
      // A token verified before is the same bytes under the same keys: only
      // its time window is checked again (against the injected clock).
      const at = now().getTime() / 1000;
      const known = verified.get(token);
      if (known && known.issuedAt <= at && at < known.expiresAt && at - known.issuedAt <= ttlSeconds) {
        return known.claims;
      }
      try {
        const { payload } = await jwtVerify(
          token,
          async (header) => {
            const key = header.kid === undefined ? undefined : byKid.get(header.kid);
            if (!key) throw new joseErrors.JWKSNoMatchingKey();
            return key;
          },
          {
            algorithms: ['EdDSA'],
            issuer,
            audience: ACCESS_TOKEN_AUDIENCE,
            typ: ACCESS_TOKEN_TYPE,
            requiredClaims: ['sub', 'exp', 'iat', 'sid'],
            currentDate: now(),
            maxTokenAge: ttlSeconds,
          },
        );
        // Signed by us, yet parsed like any input: ids reach the database only in their canonical form.
        const claims = { userId: Id.parse(payload.sub), sessionId: Id.parse(payload.sid) };
        if (verified.size >= MAX_REMEMBERED_TOKENS) verified.clear();
        verified.set(token, { claims, issuedAt: payload.iat as number, expiresAt: payload.exp as number });
        return claims;
      } catch {
        throw new ApiError('UNAUTHENTICATED', 'The access token is invalid or expired');
      }
    },

    /** The public half of the keyring, for `/.well-known/jwks.json`. */
    async jwks(): Promise<{ keys: JWK[] }> {
      const keys = await Promise.all(
        keyring.map(async ({ kid, publicKey }) => ({
          ...(await exportJWK(publicKey)),
          kid,
          alg: 'EdDSA',
          use: 'sig',
        })),
      );
      return { keys };
    },
  };
}

export type AccessTokens = ReturnType<typeof createAccessTokens>;
