import { createPublicKey, type KeyObject } from 'node:crypto';
import {
  ApiError,
  Id,
  LINK_ASSERTION_ALG,
  LINK_ASSERTION_CLOCK_SKEW_SECONDS,
  LINK_ASSERTION_JTI,
  LINK_ASSERTION_MAX_SECONDS,
  LINK_ASSERTION_TYPE,
} from '@multiclaw/protocol';
import { decodeJwt, decodeProtectedHeader, errors, type JWTPayload, jwtVerify } from 'jose';
import type { Database } from '../../db/client.js';

/** A gateway as the link knows it once its assertion checked out. */
export type LinkedGateway = { id: string; workspaceId: string; ownerUserId: string };

export type VerifiedAssertion = {
  gateway: LinkedGateway;
  /** The assertion's `exp`: the connection must have refreshed by then (plus the clock skew). */
  expiresAt: Date;
};

export type LinkAssertionDeps = {
  db: Database;
  now: () => Date;
  /** linkAudience(config.publicUrl): the only `aud` accepted. */
  audience: string;
};

/** Everything that is not the right gateway's key saying so: one answer, nothing learnt. */
const invalid = () =>
  new ApiError(
    'LINK_AUTH_INVALID',
    'The link assertion is not valid for any enrolled gateway: it is malformed, or not signed by the key this gateway enrolled with.',
  );

/** Said only once the signature checked out: the holder of the key may know what was wrong. */
const refused = (why: string) => new ApiError('LINK_AUTH_INVALID', `The link assertion was refused: ${why}.`);

const revoked = () =>
  new ApiError(
    'LINK_GATEWAY_REVOKED',
    'This gateway was revoked, or the person who linked it is no longer a member of the workspace. Link it again with a new code.',
  );

/** The enrolled raw 32-byte key as a key object, through its JWK form (OKP, Ed25519). */
function ed25519PublicKey(raw: Uint8Array): KeyObject {
  const x = Buffer.from(raw).toString('base64url');
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' });
}

/** The gateway an assertion claims to come from, before anything is verified: only to find its key. */
function claimedGatewayId(token: string): string {
  try {
    const header = decodeProtectedHeader(token);
    // Pinned before any database read: `none`, HS256 and the rest stop here.
    if (header.alg !== LINK_ASSERTION_ALG) throw invalid();
    const issuer = Id.safeParse(decodeJwt(token).iss);
    if (!issuer.success) throw invalid();
    return issuer.data;
  } catch {
    throw invalid();
  }
}

/** What a failed check means, in words for the key's holder. */
function refusalOf(error: unknown, audience: string): ApiError {
  if (error instanceof errors.JWTExpired) {
    return error.claim === 'iat'
      ? refused(`it was issued more than ${LINK_ASSERTION_MAX_SECONDS} seconds ago`)
      : refused('it has expired; sign a fresh one');
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'aud') return refused(`its audience must be exactly ${audience}`);
    if (error.claim === 'typ') return refused(`its typ header must be ${LINK_ASSERTION_TYPE}`);
    if (error.claim === 'iat') return refused('it was issued in the future; check the clock');
    if (error.claim === 'nbf') return refused('it is not valid yet; check the clock');
    if (error.claim === 'sub') return refused('its sub must equal its iss, the gateway id');
    if (error.reason === 'missing') return refused(`it has no "${error.claim}" claim`);
    return refused(`its "${error.claim}" claim is not acceptable`);
  }
  return invalid();
}

/**
 * Link assertions (DESIGN.md §7): a compact JWS the gateway signs with its
 * enrolled Ed25519 key for every connection and every re-auth. Checked: alg
 * EdDSA only, typ LINK_ASSERTION_TYPE, signature by the gateway's registered
 * key, `iss` = `sub` = the gateway id, `aud` = the link URL, `iat` and `exp`
 * present with exp − iat ≤ 60 s (5 s of clock skew either way), a `jti`
 * never seen for this gateway — recorded in Postgres, so a replay is refused
 * on every instance — then the gateway not revoked and its owner still a
 * member of the workspace.
 */
export function createLinkAssertions({ db, now, audience }: LinkAssertionDeps) {
  const skew = LINK_ASSERTION_CLOCK_SKEW_SECONDS;

  async function checkedClaims(token: string, gatewayId: string, publicKey: Uint8Array) {
    try {
      const { payload } = await jwtVerify(token, ed25519PublicKey(publicKey), {
        algorithms: [LINK_ASSERTION_ALG],
        typ: LINK_ASSERTION_TYPE,
        issuer: gatewayId,
        subject: gatewayId,
        audience,
        requiredClaims: ['iat', 'exp', 'jti'],
        // With maxTokenAge jose also refuses an `iat` in the future (beyond the skew).
        maxTokenAge: LINK_ASSERTION_MAX_SECONDS,
        clockTolerance: skew,
        currentDate: now(),
      });
      return payload as JWTPayload & { iat: number; exp: number; jti: string };
    } catch (error) {
      throw refusalOf(error, audience);
    }
  }

  /** Records the `jti`; false when it was already there (a replay, on this instance or another). */
  async function firstUse(gatewayId: string, jti: string, expiresAt: Date): Promise<boolean> {
    const inserted = await db.$executeRaw`
      INSERT INTO gateway_assertion_jtis (gateway_id, jti, expires_at)
      VALUES (${gatewayId}::uuid, ${jti}, ${expiresAt})
      ON CONFLICT DO NOTHING`;
    return inserted === 1;
  }

  /**
   * Verifies an assertion; with `gatewayId`, it must come from that gateway
   * (a re-auth on an open link). Throws LINK_AUTH_INVALID or LINK_GATEWAY_REVOKED.
   */
  async function verify(token: string, expected?: { gatewayId: string }): Promise<VerifiedAssertion> {
    const gatewayId = claimedGatewayId(token);
    if (expected && expected.gatewayId !== gatewayId) throw invalid();
    const gateway = await db.gateway.findUnique({
      where: { id: gatewayId },
      select: { id: true, workspaceId: true, ownerUserId: true, publicKey: true, revokedAt: true },
    });
    if (!gateway) throw invalid();

    const claims = await checkedClaims(token, gateway.id, gateway.publicKey);
    if (typeof claims.jti !== 'string' || !LINK_ASSERTION_JTI.test(claims.jti)) {
      throw refused('its jti must be 16 to 128 characters of A-Z a-z 0-9 _ -');
    }
    if (claims.exp <= claims.iat || claims.exp - claims.iat > LINK_ASSERTION_MAX_SECONDS) {
      throw refused(`it must expire within ${LINK_ASSERTION_MAX_SECONDS} seconds of being issued`);
    }

    if (gateway.revokedAt !== null) throw revoked();
    const membership = await db.membership.findUnique({
      where: { workspaceId_userId: { workspaceId: gateway.workspaceId, userId: gateway.ownerUserId } },
      select: { role: true },
    });
    if (!membership) throw revoked();

    const expiresAt = new Date(claims.exp * 1000);
    // Kept until it could not be accepted anyway; pruned after that.
    if (!(await firstUse(gateway.id, claims.jti, new Date(expiresAt.getTime() + skew * 1000)))) {
      throw refused('its jti was already used; sign a fresh assertion for every connection and re-auth');
    }
    return {
      gateway: { id: gateway.id, workspaceId: gateway.workspaceId, ownerUserId: gateway.ownerUserId },
      expiresAt,
    };
  }

  /** Deletes the `jti`s no assertion could be accepted with any more. */
  async function prune(): Promise<number> {
    return db.$executeRaw`DELETE FROM gateway_assertion_jtis WHERE expires_at < ${now()}`;
  }

  return { verify, prune };
}

export type LinkAssertions = ReturnType<typeof createLinkAssertions>;
