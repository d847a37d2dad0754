import { ApiError, LINK_PROTOCOL_VERSIONS } from '@multiclaw/protocol';

/**
 * The link protocol version of a connection: the highest one both ends speak.
 * The gateway states its versions in the `MultiClaw-Link-Versions` header, a
 * comma-separated list of positive integers (`1`, `1, 2`); a missing header
 * or list states none. With nothing in common the upgrade is refused (426
 * LINK_VERSION_UNSUPPORTED) and both lists are named, in words and in
 * `details.gateway` / `details.cloud`.
 */
export function negotiateLinkVersion(
  header: string | string[] | undefined,
  cloud: readonly number[] = LINK_PROTOCOL_VERSIONS,
): number {
  const text = Array.isArray(header) ? header.join(',') : (header ?? '');
  const gateway = text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => /^[1-9][0-9]{0,5}$/.test(item))
    .map(Number);
  const common = cloud.filter((version) => gateway.includes(version));
  if (common.length > 0) return Math.max(...common);
  const list = (versions: readonly number[]) => (versions.length > 0 ? versions.join(', ') : 'none stated');
  throw new ApiError(
    'LINK_VERSION_UNSUPPORTED',
    `This gateway speaks link protocol versions ${list(gateway)}; this cloud speaks ${list(cloud)}. Update the older side.`,
    { gateway, cloud: [...cloud] },
  );
}
