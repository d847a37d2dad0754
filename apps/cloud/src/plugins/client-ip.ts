import { isIPv4, isIPv6 } from 'node:net';
import type { FastifyRequest } from 'fastify';

/**
 * The client's address, in one canonical spelling per address, for rate
 * limits, sessions and audit entries.
 *
 * Which address: `request.ip`, which Fastify derives from the socket, or from
 * `X-Forwarded-For` only when the socket peer is a trusted proxy (the
 * `trustProxy` option, set from `TRUST_PROXY`; off by default). A client that
 * is not a trusted proxy cannot choose its address with a header.
 *
 * Which spelling: IPv4 as dotted quad; an IPv4-mapped IPv6 address
 * (`::ffff:10.0.0.1`, what a dual-stack socket reports for an IPv4 peer) as
 * its IPv4 address; other IPv6 addresses in RFC 5952 form (lower case,
 * longest zero run compressed), with any zone id dropped.
 */
export function clientIp(request: FastifyRequest): string {
  const forwarded = addressOf(request.ip);
  if (forwarded) return forwarded;
  // A trusted proxy forwarded something that is no address (`unknown`, garbage):
  // the nearest address we know is the proxy's own, which is never spoofed.
  return addressOf(request.socket.remoteAddress ?? '') ?? '0.0.0.0';
}

/**
 * The canonical IP address in an `X-Forwarded-For` entry, which proxies write
 * as a bare address, `ipv4:port`, `[ipv6]:port` or `ipv6%zone`; undefined when
 * the entry holds no IP address at all.
 */
export function addressOf(entry: string): string | undefined {
  const text = entry.trim();
  const candidates = [
    text,
    /^\[([^\]]+)\](?::\d+)?$/.exec(text)?.[1],
    /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(text)?.[1],
  ];
  for (const candidate of candidates) {
    if (candidate === undefined) continue;
    const address = normaliseIp(candidate);
    if (isIPv4(address) || isIPv6(address)) return address;
  }
  return undefined;
}

/** Canonical spelling of an address; anything that is not an IP address is returned trimmed and lower-cased. */
export function normaliseIp(raw: string): string {
  const address = raw.trim();
  if (isIPv4(address)) return address;
  const withoutZone = address.split('%', 1)[0] ?? address;
  const unbracketed = withoutZone.replace(/^\[(.*)\]$/, '$1');
  if (!isIPv6(unbracketed)) return address.toLowerCase();
  const groups = ipv6Groups(unbracketed);
  if (isIPv4Mapped(groups)) return ipv4FromGroups(groups[6] ?? 0, groups[7] ?? 0);
  return formatIPv6(groups);
}

/**
 * The key one client's requests are counted under: an IPv4 address, or an
 * IPv6 address cut to its first `ipv6PrefixLength` bits (default /64, the
 * usual smallest allocation to one subscriber, who can otherwise pick from
 * 2^64 addresses to dodge a per-address limit), e.g. `2001:db8:1:2::/64`.
 */
export function clientKey(ip: string, ipv6PrefixLength = 64): string {
  if (!Number.isInteger(ipv6PrefixLength) || ipv6PrefixLength < 0 || ipv6PrefixLength > 128) {
    throw new RangeError('ipv6PrefixLength must be an integer from 0 to 128');
  }
  const address = normaliseIp(ip);
  if (!isIPv6(address)) return address;
  if (ipv6PrefixLength === 128) return address;
  const groups = ipv6Groups(address).map((group, index) => {
    const bitsKept = Math.max(0, Math.min(16, ipv6PrefixLength - index * 16));
    const mask = bitsKept === 0 ? 0 : (0xffff << (16 - bitsKept)) & 0xffff;
    return group & mask;
  });
  return `${formatIPv6(groups)}/${ipv6PrefixLength}`;
}

/** The eight 16-bit groups of a valid IPv6 address (which may end in a dotted quad). */
export function ipv6Groups(address: string): number[] {
  let text = address.toLowerCase();
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const parse = (part: string) =>
    part === '' ? [] : part.split(':').map((group) => Number.parseInt(group, 16));
  const left = parse(head);
  if (tail === undefined) return left;
  const right = parse(tail);
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}

function isIPv4Mapped(groups: readonly number[]): boolean {
  return groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff;
}

function ipv4FromGroups(high: number, low: number): string {
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
}

/** RFC 5952: lower-case hex without leading zeros, the longest run of two or more zero groups as `::`. */
function formatIPv6(groups: readonly number[]): string {
  let bestStart = -1;
  let bestLength = 0;
  for (let start = 0; start < groups.length; ) {
    if (groups[start] !== 0) {
      start += 1;
      continue;
    }
    let end = start;
    while (end < groups.length && groups[end] === 0) end += 1;
    if (end - start > bestLength) {
      bestStart = start;
      bestLength = end - start;
    }
    start = end;
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestLength < 2) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}
