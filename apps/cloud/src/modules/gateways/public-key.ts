/**
 * Checks a gateway's raw Ed25519 public key before it is registered. Node's
 * `createPublicKey` (OpenSSL) takes any 32 bytes without decoding them, so
 * the key is decoded here as RFC 8032 §5.1.3 says: canonical `y`, a square
 * root for `x`, and no `x = 0` with the sign bit set. A point of small order
 * (the identity among them) is refused too: signatures under it prove nothing,
 * since anyone can make them.
 */

const P = 2n ** 255n - 19n;
const mod = (value: bigint) => ((value % P) + P) % P;

function pow(base: bigint, exponent: bigint): bigint {
  let result = 1n;
  let b = mod(base);
  let e = exponent;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % P;
    b = (b * b) % P;
    e >>= 1n;
  }
  return result;
}

const D = mod(-121665n * pow(121666n, P - 2n));
const SQRT_MINUS_ONE = pow(2n, (P - 1n) / 4n);

type Point = { x: bigint; y: bigint; z: bigint };

/** Doubling in projective coordinates on -x² + y² = 1 + d·x²·y² (dbl-2008-hwcd, a = -1). */
function double({ x, y, z }: Point): Point {
  const a = (x * x) % P;
  const b = (y * y) % P;
  const c = (2n * z * z) % P;
  const d = mod(-a);
  const e = mod((x + y) * (x + y) - a - b);
  const g = mod(d + b);
  const f = mod(g - c);
  const h = mod(d - b);
  return { x: (e * f) % P, y: (g * h) % P, z: (f * g) % P };
}

/** The affine point a 32-byte encoding names, or undefined if it names none. */
function decode(raw: Uint8Array): Point | undefined {
  if (raw.length !== 32) return undefined;
  const bytes = Uint8Array.from(raw);
  const sign = (bytes[31] ?? 0) >> 7;
  bytes[31] = (bytes[31] ?? 0) & 0x7f;
  const y = BigInt(`0x${Buffer.from(bytes).reverse().toString('hex')}`);
  if (y >= P) return undefined;
  const u = mod(y * y - 1n);
  const v = mod(D * y * y + 1n);
  const v3 = (v * v * v) % P;
  let x = (u * v3 * pow(u * v3 * v3 * v, (P - 5n) / 8n)) % P;
  const vx2 = (v * x * x) % P;
  if (vx2 === mod(-u)) x = (x * SQRT_MINUS_ONE) % P;
  else if (vx2 !== u) return undefined;
  if (x === 0n && sign === 1) return undefined;
  if (Number(x & 1n) !== sign) x = P - x;
  return { x, y, z: 1n };
}

/** True when `raw` encodes a point of Ed25519 that is not of small order. */
export function isUsableEd25519PublicKey(raw: Uint8Array): boolean {
  const point = decode(raw);
  if (!point) return false;
  // The curve's cofactor is 8: a point of small order becomes the identity (0, 1) once tripled-doubled.
  const eightfold = double(double(double(point)));
  return !(eightfold.x === 0n && eightfold.y === eightfold.z);
}

/**
 * The 32 bytes of an unpadded base64url key, or undefined. The protocol's
 * schema already pinned the alphabet and length; decoding and re-encoding
 * also refuses a second spelling of the same bytes.
 */
export function rawPublicKey(publicKey: string): Uint8Array<ArrayBuffer> | undefined {
  const raw = Buffer.from(publicKey, 'base64url');
  if (raw.length !== 32 || raw.toString('base64url') !== publicKey) return undefined;
  return new Uint8Array(raw);
}
