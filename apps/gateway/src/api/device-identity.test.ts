import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { devicePayloads, type SignedConnect, verifyDeviceIdentity } from './device-identity.js';

/**
 * The reference is OpenClaw 2026.9.6's own client: a `connect` it signed,
 * captured on loopback, must verify with our code, and every change an
 * attacker could make to it must not.
 */
type Frame = {
  type: string;
  event?: string;
  method?: string;
  payload?: { nonce?: string };
  params?: unknown;
};
const capture = readFileSync(
  new URL('../../test/fixtures/openclaw-protocol-v4/device-signed-chat.jsonl', import.meta.url),
  'utf8',
)
  .trim()
  .split('\n')
  .map((line) => (JSON.parse(line) as { frame: Frame }).frame);

const challengeNonce = capture.find((frame) => frame.event === 'connect.challenge')?.payload?.nonce ?? '';
const captured = capture.find((frame) => frame.method === 'connect')?.params as SignedConnect;
const signedAt = captured.device.signedAt;

function flipLastByte(base64url: string): string {
  const bytes = Buffer.from(base64url, 'base64url');
  bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 1;
  return bytes.toString('base64url');
}

/** A device of our own, signing the payload version we ask for. */
function ownDevice(version: 'v3' | 'v2', overrides: Partial<SignedConnect> = {}): SignedConnect {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url');
  const connect: SignedConnect = {
    client: { id: 'cli', mode: 'cli', platform: ' Linux ', deviceFamily: 'Desktop' },
    role: 'operator',
    scopes: ['operator.read', 'operator.write'],
    auth: { token: 'the-gateway-token' },
    ...overrides,
    device: {
      id: createHash('sha256').update(raw).digest('hex'),
      publicKey: raw.toString('base64url'),
      signature: '',
      signedAt: 1_800_000_000_000,
      nonce: 'nonce-1',
    },
  };
  const payload = devicePayloads(connect, 'nonce-1').find(([v]) => v === version)?.[1] ?? '';
  connect.device.signature = sign(null, Buffer.from(payload), privateKey).toString('base64url');
  return connect;
}

describe('device identity (OpenClaw protocol v4)', () => {
  it("verifies OpenClaw's own signed connect (v3 payload)", () => {
    expect(challengeNonce).not.toBe('');
    expect(verifyDeviceIdentity(captured, { challengeNonce, now: signedAt + 1_000 })).toEqual({
      ok: true,
      deviceId: captured.device.id,
      payloadVersion: 'v3',
    });
  });

  it.each([
    [
      'a flipped bit in the signature',
      { device: { ...captured.device, signature: flipLastByte(captured.device.signature) } },
      'DEVICE_AUTH_SIGNATURE_INVALID',
    ],
    [
      'more scopes than were signed',
      { scopes: [...captured.scopes, 'operator.extra'] },
      'DEVICE_AUTH_SIGNATURE_INVALID',
    ],
    ['another role', { role: 'node' }, 'DEVICE_AUTH_SIGNATURE_INVALID'],
    ['another token', { auth: { token: 'other' } }, 'DEVICE_AUTH_SIGNATURE_INVALID'],
    ['another client id', { client: { ...captured.client, id: 'webchat' } }, 'DEVICE_AUTH_SIGNATURE_INVALID'],
    [
      'a device id that is not the key',
      { device: { ...captured.device, id: 'a'.repeat(64) } },
      'DEVICE_AUTH_DEVICE_ID_MISMATCH',
    ],
    [
      'a public key that is not 32 bytes',
      { device: { ...captured.device, publicKey: 'AAAA' } },
      'DEVICE_AUTH_DEVICE_ID_MISMATCH',
    ],
    ['no nonce', { device: { ...captured.device, nonce: undefined } }, 'DEVICE_AUTH_NONCE_REQUIRED'],
    [
      "another connection's nonce",
      { device: { ...captured.device, nonce: 'another-challenge' } },
      'DEVICE_AUTH_NONCE_MISMATCH',
    ],
  ] as const)('refuses %s', (_name, change, detailCode) => {
    const tampered = { ...captured, ...change } as SignedConnect;
    const check = verifyDeviceIdentity(tampered, { challengeNonce, now: signedAt });
    expect(check).toMatchObject({ ok: false, detailCode });
  });

  it('refuses a nonce that was signed but is not this connection’s challenge (a replayed connect)', () => {
    expect(
      verifyDeviceIdentity(captured, { challengeNonce: 'this-connection', now: signedAt }),
    ).toMatchObject({
      ok: false,
      detailCode: 'DEVICE_AUTH_NONCE_MISMATCH',
    });
  });

  it('refuses a signature older or newer than two minutes, accepts one within', () => {
    const at = (now: number) => verifyDeviceIdentity(captured, { challengeNonce, now });
    expect(at(signedAt + 120_000).ok).toBe(true);
    expect(at(signedAt - 120_000).ok).toBe(true);
    expect(at(signedAt + 120_001)).toMatchObject({ ok: false, detailCode: 'DEVICE_AUTH_SIGNATURE_EXPIRED' });
    expect(at(signedAt - 120_001)).toMatchObject({ ok: false, detailCode: 'DEVICE_AUTH_SIGNATURE_EXPIRED' });
  });

  it('accepts v2 signatures, normalises platform and device family in v3, and refuses a key that signed nothing', () => {
    const context = { challengeNonce: 'nonce-1', now: 1_800_000_000_000 };
    expect(verifyDeviceIdentity(ownDevice('v3'), context)).toMatchObject({ ok: true, payloadVersion: 'v3' });
    expect(verifyDeviceIdentity(ownDevice('v2'), context)).toMatchObject({ ok: true, payloadVersion: 'v2' });
    const a = ownDevice('v3');
    const b = ownDevice('v3');
    // b's signature presented with a's key: the key verifies nothing it did not sign.
    const swapped = { ...a, device: { ...a.device, signature: b.device.signature } };
    expect(verifyDeviceIdentity(swapped, context)).toMatchObject({
      ok: false,
      detailCode: 'DEVICE_AUTH_SIGNATURE_INVALID',
    });
  });
});
