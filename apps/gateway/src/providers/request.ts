/**
 * Sends one streaming request to a provider through the egress module and
 * returns the response once its status is a success; every failure up to
 * that point becomes the matching ApiError (or the caller's abort reason).
 */
import type { Egress } from '../egress/egress.js';
import { connectionError, errorFromResponse, type ProviderContext } from './errors.js';

/** Joins a configured base URL and an API path, whether or not the base ends in '/'. */
export function endpoint(baseUrl: string, path: string): string {
  return `${baseUrl.replace(/\/+$/, '')}${path}`;
}

/** The provider's origin, for messages (a URL that does not parse never gets past the egress module). */
export function originOf(baseUrl: string): string {
  try {
    return new URL(baseUrl).origin;
  } catch {
    return 'an invalid base URL';
  }
}

export async function postStreamingJson(
  egress: Egress,
  url: string,
  headers: Record<string, string>,
  body: unknown,
  context: ProviderContext,
  signal: AbortSignal,
): Promise<Response> {
  signal.throwIfAborted();
  let response: Response;
  try {
    response = await egress.fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers },
      body: JSON.stringify(body),
      signal,
    });
  } catch (error) {
    throw connectionError(error, context, signal);
  }
  if (!response.ok) {
    const error = await errorFromResponse(response, context);
    signal.throwIfAborted();
    throw error;
  }
  return response;
}
