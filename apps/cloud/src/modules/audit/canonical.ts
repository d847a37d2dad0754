import { isIPv4, isIPv6 } from 'node:net';
import { parseIPv6 } from '../../plugins/client-ip.js';

/**
 * Canonical JSON: object keys sorted (by UTF-16 code units), no whitespace,
 * numbers and strings as JSON.stringify writes them. What jsonb gives back
 * (keys reordered, whitespace dropped) canonicalises to the same text.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record)
    .filter((key) => record[key] !== undefined)
    .sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`).join(',')}}`;
}

/**
 * Text as PostgreSQL will store it: no NUL (text and jsonb refuse it), no lone
 * surrogate (the driver would write U+FFFD), at most `max` UTF-16 units.
 */
export function cleanText(text: string, max = Number.POSITIVE_INFINITY): string {
  return text.replaceAll('\u0000', '').slice(0, max).replace(LONE_SURROGATE, '\ufffd');
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Metadata as jsonb will hold it: clean strings, and values JSON would not keep (NaN, -0) as JSON keeps them. */
export function cleanMetadata(metadata: Record<string, unknown>): Record<string, unknown> {
  const clean: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(metadata)) {
    if (value === undefined) continue;
    clean[cleanText(key)] = typeof value === 'string' ? cleanText(value) : value;
  }
  return JSON.parse(JSON.stringify(clean)) as Record<string, unknown>;
}

/**
 * An IP address by its bytes (`4:7f000001/32`), not its spelling: PostgreSQL's
 * `inet` output may spell an address differently from the way it was written,
 * and the hash must not depend on that. Anything unparseable stays as is.
 */
export function canonicalIp(ip: string | null): string | null {
  if (ip === null) return null;
  const [address = '', prefix] = ip.trim().split('/', 2);
  const bytes = ipBytes(address);
  if (!bytes) return ip;
  const bits = prefix === undefined ? bytes.length * 8 : Number(prefix);
  return `${bytes.length === 4 ? 4 : 6}:${Buffer.from(bytes).toString('hex')}/${bits}`;
}

function ipBytes(address: string): number[] | null {
  if (isIPv4(address)) return address.split('.').map(Number);
  if (!isIPv6(address)) return null;
  return parseIPv6(address).toByteArray();
}
