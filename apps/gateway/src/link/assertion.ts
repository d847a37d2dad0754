import { type KeyObject, randomUUID } from 'node:crypto';
import {
  LINK_ASSERTION_ALG,
  LINK_ASSERTION_MAX_SECONDS,
  LINK_ASSERTION_TYPE,
  linkAudience,
} from '@multiclaw/protocol';
import { SignJWT } from 'jose';

/**
 * A fresh assertion (DESIGN.md §7): EdDSA over Ed25519, explicitly typed, `iss` = `sub` = the
 * gateway id, `aud` = the link URL (the protocol's linkAudience), valid for LINK_ASSERTION_MAX_SECONDS from
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
    .setProtectedHeader({ alg: LINK_ASSERTION_ALG, typ: LINK_ASSERTION_TYPE })
    .setIssuer(options.gatewayId)
    .setSubject(options.gatewayId)
    .setAudience(linkAudience(options.cloudUrl))
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .setJti(randomUUID())
    .sign(options.privateKey);
  return { assertion, expiresAt: new Date(exp * 1000) };
}
