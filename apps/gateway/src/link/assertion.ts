import { type KeyObject, randomUUID } from 'node:crypto';
import { GATEWAY_LINK_PATH, LINK_ASSERTION_MAX_SECONDS } from '@multiclaw/protocol';
import { SignJWT } from 'jose';

/**
 * The audience of every link assertion: the link's own URL, so an assertion
 * made for one cloud (or one path) is worthless at another.
 * TODO(link): use the protocol's linkAudience once the cloud end exports it.
 */
export function linkAudience(cloudUrl: string): string {
  return `${cloudUrl.replace(/\/+$/, '')}${GATEWAY_LINK_PATH}`;
}

/**
 * A fresh assertion (DESIGN.md §7): EdDSA over Ed25519, `iss` = `sub` = the
 * gateway id, `aud` = the link URL, valid for LINK_ASSERTION_MAX_SECONDS from
 * now, with a random `jti` the cloud accepts once.
 */
export async function signLinkAssertion(options: {
  privateKey: KeyObject;
  gatewayId: string;
  cloudUrl: string;
  now: Date;
}): Promise<{ assertion: string; expiresAt: Date }> {
  const iat = Math.floor(options.now.getTime() / 1000);
  const exp = iat + LINK_ASSERTION_MAX_SECONDS;
  const assertion = await new SignJWT({})
    .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT' })
    .setIssuer(options.gatewayId)
    .setSubject(options.gatewayId)
    .setAudience(linkAudience(options.cloudUrl))
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .setJti(randomUUID())
    .sign(options.privateKey);
  return { assertion, expiresAt: new Date(exp * 1000) };
}
