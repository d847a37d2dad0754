import { UpdateRefusedError } from './errors.js';

/** How the updater reaches the network: the host's egress (the gateway's allowlisted door), nothing else. */
export type FeedFetch = (url: string, init?: RequestInit) => Promise<Response>;

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * The configured update feed: https, or plain http to this machine only
 * (a development feed). Answers the normalised base URL without a trailing slash.
 */
export function parseFeedUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UpdateRefusedError('FEED_URL_INSECURE', `"${text}" is not a URL.`);
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new UpdateRefusedError(
      'FEED_URL_INSECURE',
      'It must not carry a user, password, query or fragment.',
    );
  }
  const loopback = LOOPBACK_HOSTS.has(url.hostname) || /^127\.\d+\.\d+\.\d+$/.test(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new UpdateRefusedError('FEED_URL_INSECURE', `Refusing ${url.protocol}//${url.host}.`);
  }
  url.pathname = url.pathname.replace(/\/+$/, '');
  return url;
}

/** Where a product's manifest for a channel lives on the feed. */
export function manifestUrl(feed: URL, product: string, channel: string): URL {
  return new URL(`${feed.pathname}/${product}/${channel}/manifest.json`, feed);
}

/** An artifact URL from a manifest (absolute, or relative to the manifest), which must stay on the feed's origin. */
export function artifactUrl(feed: URL, manifest: URL, url: string): URL {
  let resolved: URL;
  try {
    resolved = new URL(url, manifest);
  } catch {
    throw new UpdateRefusedError('FEED_URL_INSECURE', `"${url}" is not a URL.`);
  }
  if (resolved.origin !== feed.origin || resolved.search || resolved.hash || resolved.username) {
    throw new UpdateRefusedError(
      'FEED_URL_INSECURE',
      `${resolved.origin} is not the update feed ${feed.origin}.`,
    );
  }
  return resolved;
}

/**
 * GETs a URL and reads at most `maxBytes` of its body: a declared or actual
 * body past the cap is cut off and refused with `tooLarge`. A 404 answers
 * undefined (the caller knows what was missing); any other non-2xx, a
 * redirect included (the egress never follows one), is DOWNLOAD_FAILED.
 */
export async function fetchCapped(
  get: FeedFetch,
  url: URL,
  maxBytes: number,
  tooLarge: 'ARTIFACT_TOO_LARGE' | 'DOWNLOAD_FAILED' = 'DOWNLOAD_FAILED',
): Promise<Uint8Array | undefined> {
  let response: Response;
  try {
    response = await get(url.href, { headers: { accept: '*/*' } });
  } catch (error) {
    if (error instanceof UpdateRefusedError) throw error;
    throw new UpdateRefusedError('DOWNLOAD_FAILED', `${url.origin}: ${(error as Error).message}`);
  }
  if (response.status === 404) {
    await response.body?.cancel().catch(() => undefined);
    return undefined;
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel().catch(() => undefined);
    throw new UpdateRefusedError('DOWNLOAD_FAILED', `${url.pathname} answered ${response.status}.`);
  }
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > maxBytes) {
    await response.body.cancel().catch(() => undefined);
    throw new UpdateRefusedError(
      tooLarge,
      `${url.pathname} declares ${declared} bytes; at most ${maxBytes}.`,
    );
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > maxBytes) {
        await reader.cancel().catch(() => undefined);
        throw new UpdateRefusedError(tooLarge, `${url.pathname} is over ${maxBytes} bytes.`);
      }
      chunks.push(value);
    }
  } catch (error) {
    if (error instanceof UpdateRefusedError) throw error;
    throw new UpdateRefusedError('DOWNLOAD_FAILED', `${url.pathname}: ${(error as Error).message}`);
  }
  return new Uint8Array(Buffer.concat(chunks));
}
