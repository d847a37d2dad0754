import { ApiError, ERROR_CODES, type ProtocolError, type ProtocolErrorCode } from '@multiclaw/protocol';

/**
 * Errors on the control protocol, in OpenClaw's shape: one of OpenClaw's
 * codes, refined by `details.code` (OpenClaw's own detail codes for the
 * handshake, such as `AUTH_TOKEN_MISMATCH`, or our error code, docs/errors.md).
 */
export class ProtocolRefusal extends Error {
  constructor(
    readonly code: ProtocolErrorCode,
    message: string,
    readonly detailCode: string,
    readonly extra: {
      details?: Record<string, unknown>;
      retryAfterMs?: number;
      /** For a refused handshake: the close code that follows the answer (1008 unless said). */
      closeCode?: number;
    } = {},
  ) {
    super(message);
    this.name = 'ProtocolRefusal';
  }

  toShape(): ProtocolError {
    return {
      code: this.code,
      message: this.message,
      details: { ...this.extra.details, code: this.detailCode },
      ...(this.extra.retryAfterMs === undefined
        ? {}
        : { retryable: true, retryAfterMs: this.extra.retryAfterMs }),
    };
  }
}

/** What a retry can fix: a busy session, throttling, a timeout, a server-side failure. */
function retryable(code: string, status: number): boolean {
  return code === 'SESSION_BUSY' || status === 408 || status === 429 || status >= 500;
}

/**
 * OpenClaw's code for one of our errors: refusals by permission are
 * FORBIDDEN, timeouts AGENT_TIMEOUT, what a retry or the provider's side
 * could fix UNAVAILABLE; everything about the request itself (including a
 * conflict with the configuration, which retrying cannot change) INVALID_REQUEST.
 */
function protocolCodeOf(code: string, status: number): ProtocolErrorCode {
  if (status === 403) return 'FORBIDDEN';
  if (status === 408 || status === 504) return 'AGENT_TIMEOUT';
  if (status === 424 || retryable(code, status)) return 'UNAVAILABLE';
  return 'INVALID_REQUEST';
}

/** Any error as an error frame's `error`; an unexpected one says no more than that it happened. */
export function toProtocolError(error: unknown): ProtocolError {
  if (error instanceof ProtocolRefusal) return error.toShape();
  const apiError =
    error instanceof ApiError ? error : new ApiError('INTERNAL', 'The request failed unexpectedly');
  const { status } = ERROR_CODES[apiError.code];
  const code = protocolCodeOf(apiError.code, status);
  const retryAfterSeconds = apiError.details?.retryAfterSeconds;
  return {
    code,
    message: apiError.message || apiError.code,
    details: { ...apiError.details, code: apiError.code },
    ...(retryable(apiError.code, status) ? { retryable: true } : {}),
    ...(typeof retryAfterSeconds === 'number' ? { retryAfterMs: retryAfterSeconds * 1000 } : {}),
  };
}
