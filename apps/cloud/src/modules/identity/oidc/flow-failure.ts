import type { ErrorCode } from '@multiclaw/protocol';
import type { ProviderFailure } from './provider-client.js';

/** A sign-in that was associated with a request but cannot complete; it goes back to the app as `error=`. */
export class FlowFailure extends Error {
  readonly code: ErrorCode;
  readonly reason: string;
  readonly providerError: string | undefined;
  readonly userId: string | undefined;
  constructor(
    code: ErrorCode,
    reason: string,
    message: string,
    extra: { providerError?: string | undefined; userId?: string | undefined } = {},
  ) {
    super(message);
    this.code = code;
    this.reason = reason;
    this.providerError = extra.providerError;
    this.userId = extra.userId;
  }
}

export function fromProviderFailure(failure: ProviderFailure): FlowFailure {
  const extra = { providerError: failure.providerError };
  switch (failure.reason) {
    case 'provider_unavailable':
      return new FlowFailure(
        'OIDC_PROVIDER_UNAVAILABLE',
        failure.reason,
        'The identity provider could not be reached',
        extra,
      );
    case 'provider_error':
      return new FlowFailure(
        'OIDC_PROVIDER_DENIED',
        failure.reason,
        'The identity provider did not sign you in',
        extra,
      );
    default:
      return new FlowFailure(
        'OIDC_RESPONSE_INVALID',
        failure.reason,
        "The identity provider's response could not be verified",
        extra,
      );
  }
}
