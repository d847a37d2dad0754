import { createHash, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';

/**
 * A device identity as OpenClaw's clients make one, written out here from
 * OpenClaw's documented payload (test/fixtures/openclaw-protocol-v4/README
 * facts), not from the gateway's verifier: an Ed25519 key, the id is the
 * SHA-256 of the raw public key, the signature covers
 * `v3|id|clientId|mode|role|scopes|signedAt|token|nonce|platform|deviceFamily`.
 */
export type TestDevice = { id: string; publicKey: string; privateKey: KeyObject };

export function newDevice(): TestDevice {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url');
  return {
    id: createHash('sha256').update(raw).digest('hex'),
    publicKey: raw.toString('base64url'),
    privateKey,
  };
}

type ConnectToSign = {
  client: { id: string; mode: string; platform: string; deviceFamily?: string };
  role: string;
  scopes: string[];
  auth?: { token?: string };
};

/** The `device` field of a connect signed for `nonce`; `overrides` lets a test break one part of it. */
export function signConnect(
  device: TestDevice,
  connect: ConnectToSign,
  nonce: string,
  overrides: { signedAt?: number; version?: 'v3' | 'v2'; signedNonce?: string } = {},
) {
  const signedAt = overrides.signedAt ?? Date.now();
  const common = [
    device.id,
    connect.client.id,
    connect.client.mode,
    connect.role,
    connect.scopes.join(','),
    String(signedAt),
    connect.auth?.token ?? '',
    overrides.signedNonce ?? nonce,
  ];
  const lower = (value: string | undefined) => (value ?? '').trim().toLowerCase();
  const payload =
    overrides.version === 'v2'
      ? ['v2', ...common].join('|')
      : ['v3', ...common, lower(connect.client.platform), lower(connect.client.deviceFamily)].join('|');
  return {
    id: device.id,
    publicKey: device.publicKey,
    signature: sign(null, Buffer.from(payload, 'utf8'), device.privateKey).toString('base64url'),
    signedAt,
    nonce,
  };
}
