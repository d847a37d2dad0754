import { isIPv4, isIPv6 } from 'node:net';
import type { FastifyRequest } from 'fastify';
import ipaddr from 'ipaddr.js';

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
  const withoutZone = address.replace(/^\[(.*)\]$/, '$1').split('%', 1)[0] ?? '';
  if (!isIPv6(withoutZone)) return address.toLowerCase();
  // process(): an IPv4-mapped address becomes the IPv4 address it carries; an
  // IPv6 address prints in RFC 5952's form.
  return ipaddr.process(withHexTail(withoutZone)).toString();
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
  return `${ipaddr.IPv6.networkAddressFromCIDR(`${address}/${ipv6PrefixLength}`).toString()}/${ipv6PrefixLength}`;
}

/** A valid IPv6 address, parsed (its dotted-quad tail, if any, read correctly). */
export function parseIPv6(address: string): ipaddr.IPv6 {
  return ipaddr.IPv6.parse(withHexTail(address));
}

/**
 * ipaddr.js 2.5 reads an IPv4-compatible address (`::1.2.3.4`, RFC 4291
 * 2.5.5.1) as IPv4-mapped (`::ffff:1.2.3.4`), which would make it the IPv4
 * client 1.2.3.4: the dotted-quad tail is spelled as two hex groups first.
 */
function withHexTail(address: string): string {
  return address.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_match, a, b, c, d) =>
    [(Number(a) << 8) | Number(b), (Number(c) << 8) | Number(d)].map((group) => group.toString(16)).join(':'),
  );
}
