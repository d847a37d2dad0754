import { createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { ApiError } from '@multiclaw/protocol';
import { manualClock } from '@multiclaw/test-support/clock';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { validEnv } from '../../../../test/support/env.js';
import { loadConfig } from '../../../config.js';
import { createAccessTokens } from './access-tokens.js';

const seed = () => randomBytes(32).toString('base64');
const issuer = 'https://cloud.multiclaw.test';
const claims = {
  userId: '8d3f1c1e-0b5e-4a35-9a53-2c1b8d9e7f10',
  sessionId: '1f0e6a3b-5c2d-4e8f-9a7b-6c5d4e3f2a1b',
};

function keyringOf(entries: string) {
  return loadConfig(validEnv({ MULTICLAW_TOKEN_SIGNING_KEYS: entries })).signingKeys;
}

function setup(options: { keys?: string; now?: () => Date } = {}) {
  const keys = options.keys ?? `current:${seed()},previous:${seed()}`;
  const keyring = keyringOf(keys);
  const clock = manualClock('2026-11-24T12:00:00Z');
  const now = options.now ?? clock.now;
  const tokens = createAccessTokens({ keyring, issuer, ttlSeconds: 600, now });
  return { tokens, keyring, keys, advanceSeconds: clock.advanceSeconds };
}

async function refused(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return error instanceof ApiError ? error.code : `unexpected ${String(error)}`;
  }
  return 'accepted';
}

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('access tokens', () => {
  it('signs an EdDSA at+jwt with iss, aud, sub, sid, kid and exp ≤ 10 minutes, and verifies it', async () => {
    const { tokens } = setup();
    const token = await tokens.sign(claims);
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'EdDSA', typ: 'at+jwt', kid: 'current' });
    const payload = decodeJwt(token);
    expect(payload).toMatchObject({
      iss: issuer,
      aud: 'multiclaw-api',
      sub: claims.userId,
      sid: claims.sessionId,
    });
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBeLessThanOrEqual(600);
    expect(typeof payload.jti).toBe('string');
    expect(await tokens.verify(token)).toEqual(claims);
  });

  it('refuses an expired token', async () => {
    const { tokens, advanceSeconds } = setup();
    const token = await tokens.sign(claims);
    advanceSeconds(599);
    expect(await tokens.verify(token)).toEqual(claims);
    advanceSeconds(2);
    expect(await refused(tokens.verify(token))).toBe('UNAUTHENTICATED');
  });

  it('refuses alg: none', async () => {
    const { tokens } = setup();
    const payload = decodeJwt(await tokens.sign(claims));
    const forged = `${b64url({ alg: 'none', typ: 'at+jwt', kid: 'current' })}.${b64url(payload)}.`;
    expect(await refused(tokens.verify(forged))).toBe('UNAUTHENTICATED');
  });

  it('refuses HS256 signed with the public key as the HMAC secret', async () => {
    const { tokens, keyring } = setup();
    const jwk = keyring[0]?.publicKey.export({ format: 'jwk' });
    for (const secret of [Buffer.from(jwk?.x ?? '', 'base64url'), Buffer.from(JSON.stringify(jwk))]) {
      const forged = await new SignJWT({ sid: claims.sessionId })
        .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: 'current' })
        .setIssuer(issuer)
        .setAudience('multiclaw-api')
        .setSubject(claims.userId)
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(secret);
      expect(await refused(tokens.verify(forged))).toBe('UNAUTHENTICATED');
    }
  });

  it('refuses a token signed by a key outside the ring, whatever kid it claims', async () => {
    const { tokens } = setup();
    const { privateKey } = generateKeyPairSync('ed25519');
    for (const kid of ['current', 'previous', 'unknown', undefined]) {
      const forged = await new SignJWT({ sid: claims.sessionId })
        .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', ...(kid ? { kid } : {}) })
        .setIssuer(issuer)
        .setAudience('multiclaw-api')
        .setSubject(claims.userId)
        .setIssuedAt(new Date('2026-11-24T12:00:00Z'))
        .setExpirationTime(new Date('2026-11-24T12:05:00Z'))
        .sign(privateKey);
      expect(await refused(tokens.verify(forged)), String(kid)).toBe('UNAUTHENTICATED');
    }
  });

  it('refuses a wrong kid on a genuine signature', async () => {
    const { tokens } = setup();
    const [, payload, signature] = (await tokens.sign(claims)).split('.');
    const relabelled = `${b64url({ alg: 'EdDSA', typ: 'at+jwt', kid: 'previous' })}.${payload}.${signature}`;
    expect(await refused(tokens.verify(relabelled))).toBe('UNAUTHENTICATED');
  });

  it.each([
    ['a wrong audience', { audience: 'another-api' }],
    ['a wrong issuer', { issuer: 'https://evil.example' }],
    ['a wrong type', { typ: 'JWT' }],
    ['no session id', { sid: undefined }],
  ])(
    'refuses %s',
    async (_name, variant: { audience?: string; issuer?: string; typ?: string; sid?: undefined }) => {
      const { tokens, keyring } = setup();
      const key = keyring[0];
      if (!key) throw new Error('no key');
      const forged = await new SignJWT('sid' in variant ? {} : { sid: claims.sessionId })
        .setProtectedHeader({ alg: 'EdDSA', typ: variant.typ ?? 'at+jwt', kid: key.kid })
        .setIssuer(variant.issuer ?? issuer)
        .setAudience(variant.audience ?? 'multiclaw-api')
        .setSubject(claims.userId)
        .setIssuedAt(new Date('2026-11-24T12:00:00Z'))
        .setExpirationTime(new Date('2026-11-24T12:05:00Z'))
        .sign(key.privateKey);
      expect(await refused(tokens.verify(forged))).toBe('UNAUTHENTICATED');
    },
  );

  it('refuses a token whose payload was altered after signing', async () => {
    const { tokens } = setup();
    const [header, payload, signature] = (await tokens.sign(claims)).split('.');
    const altered = {
      ...JSON.parse(Buffer.from(payload ?? '', 'base64url').toString()),
      sub: 'someone-else',
    };
    expect(await refused(tokens.verify(`${header}.${b64url(altered)}.${signature}`))).toBe('UNAUTHENTICATED');
  });

  it('keeps verifying tokens of a previous key after rotation, until the key is removed', async () => {
    const oldKey = `old:${seed()}`;
    const before = setup({ keys: oldKey });
    const token = await before.tokens.sign(claims);
    const rotated = setup({ keys: `new:${seed()},${oldKey}` });
    expect(await rotated.tokens.verify(token)).toEqual(claims);
    expect(decodeProtectedHeader(await rotated.tokens.sign(claims)).kid).toBe('new');
    const retired = setup({ keys: `new:${seed()}` });
    expect(await refused(retired.tokens.verify(token))).toBe('UNAUTHENTICATED');
  });

  it('publishes every public key in the JWKS, and a standard verifier accepts our tokens with it', async () => {
    const { tokens, keyring } = setup();
    const jwks = await tokens.jwks();
    expect(jwks.keys.map((k) => k.kid)).toEqual(['current', 'previous']);
    for (const key of jwks.keys) {
      expect(key).not.toHaveProperty('d');
      expect(key).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
    }
    expect(
      createPublicKey({ key: jwks.keys[0] as never, format: 'jwk' }).equals(keyring[0]?.publicKey as never),
    ).toBe(true);
    const { payload } = await jwtVerify(await tokens.sign(claims), createLocalJWKSet(jwks), {
      issuer,
      audience: 'multiclaw-api',
      currentDate: new Date('2026-11-24T12:00:00Z'),
    });
    expect(payload.sub).toBe(claims.userId);
  });
});
