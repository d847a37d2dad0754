import { GatewayCallError } from '@multiclaw/gateway/client';
import { ApiError, ErrorCode, ErrorDetails } from '@multiclaw/protocol';

/**
 * A gateway's refusal as our error: the gateway puts our code in
 * `details.code` (docs/errors.md) and, for bad input, the field issues.
 * Anything else is "the gateway is not available".
 */
export function fromGatewayError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof GatewayCallError) {
    const code = ErrorCode.safeParse(error.detailCode);
    const details = ErrorDetails.safeParse(error.error.details);
    if (code.success)
      return new ApiError(
        code.data,
        error.message,
        details.success && details.data.issues ? { issues: details.data.issues } : undefined,
      );
    return new ApiError('DESKTOP_GATEWAY_UNAVAILABLE', `The gateway refused: ${error.message}`);
  }
  return new ApiError(
    'DESKTOP_GATEWAY_UNAVAILABLE',
    'The local gateway is not answering; start it and try again',
  );
}
