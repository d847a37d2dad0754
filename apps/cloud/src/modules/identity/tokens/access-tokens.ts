import { randomUUID } from 'node:crypto';
import { ApiError, Id } from '@multiclaw/protocol';
import { exportJWK, type JWK, errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import type { Config } from '../../../config.js';

export const ACCESS_TOKEN_AUDIENCE = 'multiclaw-api';
export const ACCESS_TOKEN_TYPE = 'at+jwt';

export type AccessTokenClaims = { userId: string; sessionId: string };

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

  return {
    ttlSeconds,

    async sign({ userId, sessionId }: AccessTokenClaims): Promise<string> {
      const issuedAt = Math.floor(now().getTime() / 1000);
      return new SignJWT({ sid: sessionId })
        .setProtectedHeader({ alg: 'EdDSA', typ: ACCESS_TOKEN_TYPE, kid: signing.kid })
        .setIssuer(issuer)
        .setAudience(ACCESS_TOKEN_AUDIENCE)
        .setSubject(userId)
        .setJti(randomUUID())
        .setIssuedAt(issuedAt)
        .setExpirationTime(issuedAt + ttlSeconds)
        .sign(signing.privateKey);
    },

    /** Returns the claims of a valid token; throws UNAUTHENTICATED for anything else. */
    async verify(token: string): Promise<AccessTokenClaims> {
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
        return { userId: Id.parse(payload.sub), sessionId: Id.parse(payload.sid) };
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
