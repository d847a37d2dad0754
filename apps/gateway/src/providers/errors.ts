/**
 * The one mapping from what a model provider did (an HTTP status and body, a
 * broken connection, an error event in the stream) to a stable ApiError.
 * Messages are safe to show a user: they may quote the provider's own error
 * text, with anything that looks like a credential removed.
 */
import { ApiError, type ErrorCode } from '@multiclaw/protocol';
import { z } from 'zod';

/** Who we were talking to, for messages, and the credential that must never appear in one. */
export interface ProviderContext {
  origin: string;
  apiKey?: string | undefined;
}

/** Error bodies larger than this are not read further: only the message is wanted. */
const ERROR_BODY_LIMIT_BYTES = 64 * 1024;
const MESSAGE_LIMIT_CHARS = 300;

// OpenAI (and most compatible servers): {error:{message,type,param,code}};
// Anthropic: {type:'error', error:{type,message}}; some servers: {error:'text'}.
const ProviderErrorBody = z.union([
  z.object({ error: z.object({ message: z.string(), type: z.string().nullish() }) }),
  z.object({ error: z.string() }),
]);

/** Whether `error` is what an aborted AbortSignal produces (its default reason, or a timeout). */
export function isAbortError(error: unknown): boolean {
  return (
    (error instanceof Error || error instanceof DOMException) &&
    (error.name === 'AbortError' || error.name === 'TimeoutError')
  );
}

/** Removes the request's own key and anything shaped like a provider key from provider text. */
function redactSecrets(text: string, apiKey: string | undefined): string {
  let clean = apiKey ? text.split(apiKey).join('[redacted]') : text;
  // OpenAI echoes a masked key ("sk-abc***xyz"); Anthropic keys start with sk-ant-.
  clean = clean.replace(/\bsk-[A-Za-z0-9_*-]{3,}/g, '[redacted]');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters is the point
  clean = clean.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return clean.length > MESSAGE_LIMIT_CHARS ? `${clean.slice(0, MESSAGE_LIMIT_CHARS)}…` : clean;
}

/** The provider's own error message and type from a JSON error body, if it is one. */
export function parseProviderError(
  body: unknown,
  apiKey?: string,
): { message: string; type?: string | undefined } | undefined {
  const parsed = ProviderErrorBody.safeParse(body);
  if (!parsed.success) return undefined;
  const { error } = parsed.data;
  if (typeof error === 'string') return { message: redactSecrets(error, apiKey) };
  return { message: redactSecrets(error.message, apiKey), type: error.type ?? undefined };
}

function withProviderText(sentence: string, providerMessage: string | undefined): string {
  return providerMessage ? `${sentence}: ${providerMessage}` : `${sentence}.`;
}

// ---- Retry hints -------------------------------------------------------------

function parseSeconds(value: string): number | undefined {
  if (!/^\s*\d+(\.\d+)?\s*$/.test(value)) return undefined;
  return Number(value);
}

/** OpenAI's x-ratelimit-reset-* durations: "20ms", "1s", "6m0s", "1h2m3.5s". */
function parseGoDuration(value: string): number | undefined {
  const match =
    /^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+(?:\.\d+)?)ms)?$/.exec(
      value.trim(),
    );
  if (!match || value.trim() === '') return undefined;
  const [, h = '0', m = '0', s = '0', ms = '0'] = match;
  return Number(h) * 3600 + Number(m) * 60 + Number(s) + Number(ms) / 1000;
}

function secondsUntil(dateText: string, now: Date): number | undefined {
  const at = Date.parse(dateText);
  return Number.isNaN(at) ? undefined : (at - now.getTime()) / 1000;
}

const ANTHROPIC_LIMITS = ['requests', 'tokens', 'input-tokens', 'output-tokens'];
const OPENAI_LIMITS = ['requests', 'tokens'];

/**
 * How long the provider asked us to wait, in whole seconds (rounded up):
 * `retry-after-ms`, then `retry-after` (seconds or an HTTP-date), then the
 * providers' own reset headers (Anthropic: RFC 3339 times; OpenAI: durations),
 * preferring the limits whose `remaining` is 0.
 */
export function retryAfterSeconds(headers: Headers, now: Date): number | undefined {
  const whole = (seconds: number | undefined) =>
    seconds === undefined || !Number.isFinite(seconds) ? undefined : Math.max(0, Math.ceil(seconds));

  const ms = headers.get('retry-after-ms');
  if (ms !== null && parseSeconds(ms) !== undefined) return whole(Number(ms) / 1000);
  const retryAfter = headers.get('retry-after');
  if (retryAfter !== null) {
    const seconds = parseSeconds(retryAfter) ?? secondsUntil(retryAfter, now);
    if (seconds !== undefined) return whole(seconds);
  }

  const resets: Array<{ seconds: number; exhausted: boolean }> = [];
  for (const limit of ANTHROPIC_LIMITS) {
    const reset = headers.get(`anthropic-ratelimit-${limit}-reset`);
    const seconds = reset === null ? undefined : secondsUntil(reset, now);
    if (seconds !== undefined) {
      resets.push({ seconds, exhausted: headers.get(`anthropic-ratelimit-${limit}-remaining`) === '0' });
    }
  }
  for (const limit of OPENAI_LIMITS) {
    const reset = headers.get(`x-ratelimit-reset-${limit}`);
    const seconds = reset === null ? undefined : parseGoDuration(reset);
    if (seconds !== undefined) {
      resets.push({ seconds, exhausted: headers.get(`x-ratelimit-remaining-${limit}`) === '0' });
    }
  }
  const exhausted = resets.filter((reset) => reset.exhausted);
  const candidates = exhausted.length > 0 ? exhausted : resets;
  if (candidates.length === 0) return undefined;
  return whole(Math.max(...candidates.map((reset) => reset.seconds)));
}

// ---- HTTP status -------------------------------------------------------------

/** Reads at most ERROR_BODY_LIMIT_BYTES of a body; a failure to read yields what arrived. */
async function readCappedText(response: Response): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let bytes = 0;
  try {
    while (bytes < ERROR_BODY_LIMIT_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.byteLength;
      text += decoder.decode(value, { stream: true });
    }
  } catch {
    // The status already tells the story; a cut error body changes nothing.
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return text;
}

/** JSON.parse that answers undefined instead of throwing: provider bodies are untrusted. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Maps a non-2xx provider response to an ApiError (consumes the body). */
export async function errorFromResponse(
  response: Response,
  context: ProviderContext,
  now: Date = new Date(),
): Promise<ApiError> {
  const body = parseJson(await readCappedText(response));
  const providerMessage = parseProviderError(body, context.apiKey)?.message;
  const { status } = response;
  const at = `The model provider at ${context.origin}`;

  const retryAfter = retryAfterSeconds(response.headers, now);
  const retryHint = retryAfter === undefined ? undefined : { retryAfterSeconds: retryAfter };

  // What a retry cannot fix answers a 4xx (clients do not retry it); what it can keeps 429 / 5xx.
  if (status === 401 || status === 403) {
    return new ApiError(
      'PROVIDER_AUTH_FAILED',
      withProviderText(
        `${at} rejected the credential configured for it in openclaw.json (HTTP ${status}; the gateway token is fine)`,
        providerMessage,
      ),
    );
  }
  if (REJECTED_REQUEST_STATUSES.has(status)) {
    return new ApiError(
      'PROVIDER_REQUEST_REJECTED',
      withProviderText(
        `${at} refused the request as invalid for the model (HTTP ${status})`,
        providerMessage,
      ),
    );
  }
  if (status === 429) {
    return new ApiError(
      'PROVIDER_RATE_LIMITED',
      withProviderText(`${at} is rate limiting this key (HTTP 429)`, providerMessage),
      retryHint,
    );
  }
  const kind = status >= 500 ? 'a server error' : 'an unexpected status';
  return new ApiError(
    'PROVIDER_UNAVAILABLE',
    withProviderText(`${at} answered with ${kind} (HTTP ${status})`, providerMessage),
    retryHint,
  );
}

/** Provider statuses that mean "this request is wrong for this model", whatever the wire format. */
const REJECTED_REQUEST_STATUSES = new Set([400, 404, 413, 422]);

// ---- In-stream errors ----------------------------------------------------------

/** Provider error types sent inside a 200 stream (Anthropic `event: error`, OpenAI `data: {error}`). */
const STREAM_ERROR_CODES: Record<string, ErrorCode> = {
  authentication_error: 'PROVIDER_AUTH_FAILED',
  permission_error: 'PROVIDER_AUTH_FAILED',
  invalid_api_key: 'PROVIDER_AUTH_FAILED',
  invalid_request_error: 'PROVIDER_REQUEST_REJECTED',
  rate_limit_error: 'PROVIDER_RATE_LIMITED',
  rate_limit_exceeded: 'PROVIDER_RATE_LIMITED',
};

/** An error the provider reported inside an otherwise successful stream (e.g. overloaded_error). */
export function errorFromStreamEvent(
  error: { message: string; type?: string | undefined },
  context: ProviderContext,
): ApiError {
  const code = (error.type && STREAM_ERROR_CODES[error.type]) || 'PROVIDER_UNAVAILABLE';
  const type = error.type ? ` (${error.type})` : '';
  return new ApiError(
    code,
    withProviderText(
      `The model provider at ${context.origin} reported an error mid-response${type}`,
      redactSecrets(error.message, context.apiKey),
    ),
  );
}

// ---- Connections and malformed replies --------------------------------------

/** The most telling code in an error's cause chain: an errno (ECONNRESET) over undici's own (UND_ERR_SOCKET). */
function networkCode(error: unknown): string | undefined {
  const codes: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current instanceof Error; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') codes.push(code);
    current = current.cause;
  }
  return codes.find((code) => /^E[A-Z]+$/.test(code)) ?? codes[0];
}

/**
 * Maps an error thrown by a connection (fetch, or reading the body) to
 * PROVIDER_UNREACHABLE. ApiErrors (e.g. EGRESS_REFUSED) pass through, and an
 * abort of `signal` rethrows the signal's reason so callers see their own abort.
 */
export function connectionError(error: unknown, context: ProviderContext, signal: AbortSignal): unknown {
  if (signal.aborted) return signal.reason;
  if (error instanceof ApiError || isAbortError(error)) return error;
  const code = networkCode(error);
  return new ApiError(
    'PROVIDER_UNREACHABLE',
    `The gateway could not reach the model provider at ${context.origin}${code ? ` (${code})` : ''}, or the connection was cut mid-response.`,
  );
}

/** The stream closed cleanly but before its terminal event: the reply is incomplete. */
export function truncatedStreamError(context: ProviderContext): ApiError {
  return new ApiError(
    'PROVIDER_UNREACHABLE',
    `The connection to the model provider at ${context.origin} closed before the reply was complete.`,
  );
}

export function badResponseError(context: ProviderContext, what: string): ApiError {
  return new ApiError(
    'PROVIDER_BAD_RESPONSE',
    `The model provider at ${context.origin} sent a response the gateway could not read: ${what}.`,
  );
}
