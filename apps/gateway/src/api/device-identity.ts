import { createHash, createPublicKey, type KeyObject, verify } from 'node:crypto';

/**
 * OpenClaw protocol v4's device identity, checked the way OpenClaw's own
 * gateway checks it: the device id is the SHA-256 of the raw Ed25519 public
 * key, the signature is fresh (±2 min) and over this connection's challenge
 * nonce, and it signs the v3 payload (v2, without platform and device family,
 * is still accepted). Each refusal carries OpenClaw's reason and detail code.
 */

export type DeviceIdentity = {
  id: string;
  /** Raw 32-byte Ed25519 public key, base64url. */
  publicKey: string;
  /** Raw 64-byte Ed25519 signature, base64url. */
  signature: string;
  signedAt: number;
  nonce?: string | undefined;
};

/** The parts of a `connect` request that a device signature covers. */
export type SignedConnect = {
  device: DeviceIdentity;
  client: { id: string; mode: string; platform?: string | undefined; deviceFamily?: string | undefined };
  role: string;
  scopes: readonly string[];
  auth?:
    | { token?: string | undefined; deviceToken?: string | undefined; bootstrapToken?: string | undefined }
    | undefined;
};

export const DEVICE_SIGNATURE_MAX_SKEW_MS = 120_000;

const REFUSALS = {
  'device-id-mismatch': ['DEVICE_AUTH_DEVICE_ID_MISMATCH', 'device identity mismatch'],
  'device-signature-stale': ['DEVICE_AUTH_SIGNATURE_EXPIRED', 'device signature expired'],
  'device-nonce-missing': ['DEVICE_AUTH_NONCE_REQUIRED', 'device nonce required'],
  'device-nonce-mismatch': ['DEVICE_AUTH_NONCE_MISMATCH', 'device nonce mismatch'],
  'device-signature': ['DEVICE_AUTH_SIGNATURE_INVALID', 'device signature invalid'],
  'device-public-key': ['DEVICE_AUTH_PUBLIC_KEY_INVALID', 'device public key invalid'],
} as const;

export type DeviceRefusalReason = keyof typeof REFUSALS;

export type DeviceCheck =
  | { ok: true; deviceId: string; payloadVersion: 'v3' | 'v2' }
  | { ok: false; reason: DeviceRefusalReason; detailCode: string; message: string };

function refuse(reason: DeviceRefusalReason): DeviceCheck {
  const [detailCode, message] = REFUSALS[reason];
  return { ok: false, reason, detailCode, message };
}

function rawPublicKey(publicKey: string): Buffer | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(publicKey)) return undefined;
  const raw = Buffer.from(publicKey, 'base64url');
  return raw.length === 32 ? raw : undefined;
}

function ed25519Key(raw: Buffer): KeyObject | undefined {
  try {
    return createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') },
      format: 'jwk',
    });
  } catch {
    return undefined;
  }
}

const normalised = (value: string | undefined) => (value ?? '').trim().toLowerCase();

/** The exact strings a client signs, newest version first. */
export function devicePayloads(connect: SignedConnect, nonce: string): Array<['v3' | 'v2', string]> {
  const { device, client, auth } = connect;
  const token = auth?.token ?? auth?.deviceToken ?? auth?.bootstrapToken ?? '';
  const common = [
    device.id,
    client.id,
    client.mode,
    connect.role,
    connect.scopes.join(','),
    device.signedAt,
    token,
    nonce,
  ];
  return [
    ['v3', ['v3', ...common, normalised(client.platform), normalised(client.deviceFamily)].join('|')],
    ['v2', ['v2', ...common].join('|')],
  ];
}

export function verifyDeviceIdentity(
  connect: SignedConnect,
  context: { challengeNonce: string; now: number; maxSkewMs?: number },
): DeviceCheck {
  const { device } = connect;
  const raw = rawPublicKey(device.publicKey);
  if (!raw || createHash('sha256').update(raw).digest('hex') !== device.id)
    return refuse('device-id-mismatch');
  const maxSkewMs = context.maxSkewMs ?? DEVICE_SIGNATURE_MAX_SKEW_MS;
  if (!Number.isFinite(device.signedAt) || Math.abs(context.now - device.signedAt) > maxSkewMs) {
    return refuse('device-signature-stale');
  }
  const nonce = device.nonce?.trim() ?? '';
  if (!nonce) return refuse('device-nonce-missing');
  if (nonce !== context.challengeNonce) return refuse('device-nonce-mismatch');
  const key = ed25519Key(raw);
  if (!key) return refuse('device-public-key');
  const signature = Buffer.from(device.signature, 'base64url');
  if (signature.length !== 64) return refuse('device-signature');
  for (const [version, payload] of devicePayloads(connect, nonce)) {
    if (verify(null, Buffer.from(payload, 'utf8'), key, signature)) {
      return { ok: true, deviceId: device.id, payloadVersion: version };
    }
  }
  return refuse('device-signature');
}
