import { generateKeyPairSync } from 'node:crypto';
import { LINK_ASSERTION_MAX_SECONDS, LINK_ASSERTION_TYPE, linkAudience } from '@multiclaw/protocol';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { signLinkAssertion } from './assertion.js';

const GATEWAY_ID = '0b8a4f4e-2d7c-4c1e-9a55-6c2f3e1d7a90';
const CLOUD = 'https://cloud.example.com/mc';
const NOW = new Date('2026-11-30T12:00:00.000Z');

describe('link assertions', () => {
  it('are EdDSA JWTs the registered public key verifies: iss = sub = gateway id, aud = the link URL, 60 s, typed', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const { assertion, expiresAt } = await signLinkAssertion({
      privateKey,
      gatewayId: GATEWAY_ID,
      cloudUrl: CLOUD,
      now: NOW,
    });
    const { payload, protectedHeader } = await jwtVerify(assertion, publicKey, {
      algorithms: ['EdDSA'],
      issuer: GATEWAY_ID,
      subject: GATEWAY_ID,
      audience: 'wss://cloud.example.com/mc/v1/gateway-link',
      typ: LINK_ASSERTION_TYPE,
      currentDate: NOW,
    });
    expect(protectedHeader.alg).toBe('EdDSA');
    expect(payload.aud).toBe(linkAudience(CLOUD));
    expect(payload.iat).toBe(NOW.getTime() / 1000);
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(LINK_ASSERTION_MAX_SECONDS);
    expect(expiresAt.getTime()).toBe(NOW.getTime() + LINK_ASSERTION_MAX_SECONDS * 1000);
    expect(payload.jti).toMatch(/^[A-Za-z0-9_-]{16,128}$/);
  });

  it('carry a fresh jti each time, and another key does not verify them', async () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const other = generateKeyPairSync('ed25519').publicKey;
    const sign = () => signLinkAssertion({ privateKey, gatewayId: GATEWAY_ID, cloudUrl: CLOUD, now: NOW });
    const [first, second] = await Promise.all([sign(), sign()]);
    const jti = (token: string) =>
      JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()).jti;
    expect(jti(first.assertion)).not.toBe(jti(second.assertion));
    expect(decodeProtectedHeader(first.assertion).typ).toBe(LINK_ASSERTION_TYPE);
    await expect(jwtVerify(first.assertion, other, { currentDate: NOW })).rejects.toThrow(/signature/);
  });

  it('expire: a verifier a minute later refuses one', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const { assertion } = await signLinkAssertion({
      privateKey,
      gatewayId: GATEWAY_ID,
      cloudUrl: CLOUD,
      now: NOW,
    });
    const later = new Date(NOW.getTime() + (LINK_ASSERTION_MAX_SECONDS + 1) * 1000);
    await expect(jwtVerify(assertion, publicKey, { currentDate: later })).rejects.toThrow(/exp/);
  });
});
