import { ApiError } from '@multiclaw/protocol';
import { isLoopbackAddress } from '../config/schema.js';

/**
 * The cloud's base URL as the link uses it: https, or plain http only to a
 * loopback host (development). Anything else is refused before a byte leaves
 * the machine, so neither the enrollment code nor an assertion ever travels
 * in the clear. Answers the normalised origin-plus-path (no query, no
 * fragment, no trailing slash).
 */
export function parseCloudUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ApiError(
      'VALIDATION_FAILED',
      `"${text}" is not a URL; give your MultiClaw Cloud's address, such as https://cloud.example.com`,
      {
        issues: [{ path: 'cloud', message: 'an https URL' }],
      },
    );
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new ApiError(
      'VALIDATION_FAILED',
      'The cloud URL must not carry a user name, password, query or fragment',
      {
        issues: [{ path: 'cloud', message: 'scheme, host, port and path only' }],
      },
    );
  }
  const loopback = isLoopbackHost(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new ApiError(
      'LINK_CLOUD_URL_INSECURE',
      `Refusing ${url.protocol}//${url.host}: the cloud link needs https (plain http is allowed only to this machine, 127.0.0.1, ::1 or localhost). Use the https URL of your MultiClaw Cloud.`,
    );
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

function isLoopbackHost(hostname: string): boolean {
  if (hostname === 'localhost') return true;
  const bare = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
  return isLoopbackAddress(bare);
}
