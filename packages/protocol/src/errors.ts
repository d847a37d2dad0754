import { z } from 'zod';

/**
 * The stable list of error codes that may appear on the wire. A code, once
 * published, keeps its meaning and its HTTP status; clients branch on it.
 * `docs/errors.md` is rendered from this table (see scripts/render-error-docs.ts).
 */
export const ERROR_CODES = {
  VALIDATION_FAILED: {
    status: 400,
    description: 'The request did not match the schema; `details.issues` lists each field path and problem.',
  },
  MALFORMED_JSON: { status: 400, description: 'The request body is not valid JSON.' },
  BAD_REQUEST: {
    status: 400,
    description:
      'The request is malformed in a way no field path describes (for example an empty JSON body).',
  },
  REQUEST_TIMEOUT: {
    status: 408,
    description:
      "The request (headers or body) did not arrive within the server's time limit; the connection is closed. Send it again, whole.",
  },
  HEADERS_TOO_LARGE: {
    status: 431,
    description: "The request headers exceed the server's limit; the connection is closed.",
  },
  UNAUTHENTICATED: {
    status: 401,
    description:
      'No valid access token: missing, malformed, expired, or its session has ended (logout, revocation, password change).',
  },
  AUTH_INVALID_CREDENTIALS: {
    status: 401,
    description:
      'Sign-in failed. Deliberately the same for an unknown email, a wrong password and a temporarily locked account.',
  },
  AUTH_REFRESH_TOKEN_INVALID: {
    status: 401,
    description:
      'The refresh token is unknown, expired, or belongs to a session that has ended. Sign in again.',
  },
  AUTH_REFRESH_TOKEN_REUSED: {
    status: 401,
    description:
      'A refresh token was presented after it had been exchanged: a sign of theft. The whole session has been revoked. Sign in again.',
  },
  AUTH_EMAIL_TAKEN: { status: 409, description: 'An account with this email address already exists.' },
  EMAIL_VERIFICATION_TOKEN_INVALID: {
    status: 400,
    description:
      'The email-verification code is unknown, already used, expired (24 hours) or was sent to another address. Ask for a new one (`POST /v1/auth/email/resend`).',
  },
  PASSWORD_RESET_TOKEN_INVALID: {
    status: 400,
    description:
      'The password-reset code is unknown, already used or expired (30 minutes). Ask for a new one (`POST /v1/auth/password/forgot`).',
  },
  ACCOUNT_SOLE_OWNER: {
    status: 409,
    description:
      'The account cannot be deleted while it is the only owner of a workspace that has other members: transfer ownership first.',
  },
  FORBIDDEN: {
    status: 403,
    description: 'Your role in this workspace does not allow this action (see docs/permissions.md).',
  },
  NOT_FOUND: {
    status: 404,
    description: 'No such route or resource, or one the caller may not know exists.',
  },
  METHOD_NOT_ALLOWED: { status: 405, description: 'The route exists but not for this HTTP method.' },
  PAYLOAD_TOO_LARGE: { status: 413, description: 'The request body exceeds the configured limit.' },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    description: 'The request body has a content type this route does not accept (JSON only).',
  },
  RATE_LIMITED: {
    status: 429,
    description: 'Too many requests from this client; retry after the `Retry-After` header.',
  },
  INTERNAL: {
    status: 500,
    description:
      'An unexpected error. The response carries only the request id; details stay in the server log.',
  },
  VAULT_INTEGRITY_FAILED: {
    status: 500,
    description:
      'A stored secret or transcript message failed its integrity check (its ciphertext, key or binding was altered); nothing was revealed. The server log names the workspace and the secret (or conversation and message); see docs/operations.md.',
  },
  SERVICE_UNAVAILABLE: {
    status: 503,
    description: 'A dependency (such as the database) is unreachable, or the server is shutting down.',
  },
  WORKSPACE_LAST_OWNER: {
    status: 409,
    description:
      'A workspace always keeps at least one owner: promote or transfer ownership to someone else first, or delete the workspace.',
  },
  MEMBER_ALREADY: { status: 409, description: 'That person is already a member of this workspace.' },
  INVITATION_INVALID: {
    status: 404,
    description:
      'No such invitation: the token is unknown, already used, revoked or expired (deliberately indistinguishable).',
  },
  INVITATION_EMAIL_MISMATCH: {
    status: 403,
    description: 'The invitation was sent to another email address: sign in with that address to accept it.',
  },
  PROTOCOL_INVALID_FRAME: {
    status: 400,
    description: 'A WebSocket frame did not match the message catalog.',
  },
  PROTOCOL_UNSUPPORTED_VERSION: {
    status: 400,
    description: 'A WebSocket frame carries a protocol version this peer does not speak.',
  },
  OIDC_REDIRECT_URI_NOT_ALLOWED: {
    status: 400,
    description:
      'Single sign-on: the `redirect_uri` is not a loopback URI (RFC 8252, `http://127.0.0.1:<port>/…` or `http://[::1]:<port>/…`) registered for this provider.',
  },
  OIDC_STATE_INVALID: {
    status: 400,
    description:
      'Single sign-on: the callback belongs to no sign-in started here: its `state` is missing, unknown, expired (10 minutes) or already used.',
  },
  OIDC_PROVIDER_DENIED: {
    status: 401,
    description:
      'Single sign-on: the identity provider answered with an error (for example the person cancelled or was refused).',
  },
  OIDC_RESPONSE_INVALID: {
    status: 401,
    description:
      "Single sign-on: the provider's response failed validation (issuer, audience, nonce, signature, expiry) or its authorization code was refused (for example, already used).",
  },
  OIDC_EMAIL_NOT_VERIFIED: {
    status: 403,
    description:
      'Single sign-on: a new account, or a link to an existing one, needs an email address the provider asserts as verified (`email_verified: true`); this sign-in had none.',
  },
  OIDC_ACCOUNT_EXISTS: {
    status: 409,
    description:
      'Single sign-on: an account with this email address already exists and the provider is not allowed to link to it automatically. Sign in to that account another way.',
  },
  OIDC_EXCHANGE_CODE_INVALID: {
    status: 400,
    description:
      'Single sign-on: the exchange code is unknown, expired (2 minutes), already used, or the PKCE code verifier does not match. Start the sign-in again.',
  },
  OIDC_PROVIDER_UNAVAILABLE: {
    status: 502,
    description:
      'Single sign-on: the identity provider could not be reached, or its discovery document is invalid (for example its issuer does not match the configured one).',
  },
  AGENT_NAME_TAKEN: {
    status: 409,
    description: 'An agent with this name already exists in the workspace.',
  },
  AGENT_VERSION_CONFLICT: {
    status: 409,
    description:
      "The agent changed since it was read: the update's `expectedVersion` is not its current version. Read it again and retry.",
  },
  SECRET_NAME_TAKEN: {
    status: 409,
    description: 'A secret with this name already exists in the workspace.',
  },
  SECRET_GATEWAY_NOT_AUTHORIZED: {
    status: 403,
    description:
      'A gateway asked for secret values it may not have: it is not enrolled in this workspace, it was revoked, or the person who enrolled it is no longer a member.',
  },
  GATEWAY_ENROLLMENT_INVALID: {
    status: 400,
    description:
      'The gateway enrollment code is unknown, already used or expired (10 minutes), or the person who created it is no longer a member of the workspace (deliberately indistinguishable). Create a new code and link again.',
  },
  LINK_VERSION_UNSUPPORTED: {
    status: 426,
    description:
      'Gateway link: the gateway and the cloud speak no link protocol version in common; `details.gateway` and `details.cloud` list the versions of each. Update the older side.',
  },
  LINK_AUTH_INVALID: {
    status: 401,
    description:
      'Gateway link: the assertion is missing, malformed, expired, lives longer than 60 s, names another audience, is signed by a key not registered for this gateway, or its `jti` was already used (on any cloud instance).',
  },
  LINK_GATEWAY_REVOKED: {
    status: 403,
    description:
      'Gateway link: this gateway was revoked, or the person who linked it is no longer a member of the workspace. It will not be let back in; link again with a new code.',
  },
  LINK_NOT_LINKED: {
    status: 409,
    description:
      'Local gateway: the action needs a link to a MultiClaw Cloud workspace and this gateway has none. Run `multiclaw-gateway link --cloud URL --code CODE`.',
  },
  LINK_CLOUD_URL_INSECURE: {
    status: 400,
    description:
      'Local gateway: the cloud URL is not https and its host is not loopback (127.0.0.1, ::1, localhost). Use the https URL of your MultiClaw Cloud.',
  },
  GATEWAY_WORKSPACE_AGENT_UNAVAILABLE: {
    status: 503,
    description:
      "Local gateway: a workspace agent cannot run now: the gateway is not (or no longer) linked to its workspace, the agent's credential has not arrived over the link, or none is granted to it.",
  },
  CONVERSATION_NOT_FOUND: {
    status: 404,
    description: 'No such synced conversation in this workspace, or it is not yours to read.',
  },
  SYNC_AGENT_NOT_IN_WORKSPACE: {
    status: 403,
    description:
      "Gateway link, in a `sync.ack` entry (state `refused`): the conversation names a `workspace` agent that is not an agent of the gateway's workspace; nothing of it was stored and it is not retried.",
  },
  GATEWAY_HOST_NOT_ALLOWED: {
    status: 403,
    description:
      'Local gateway: the Host header is not 127.0.0.1, localhost or [::1] with the gateway port (a DNS-rebinding defence).',
  },
  GATEWAY_ORIGIN_NOT_ALLOWED: {
    status: 403,
    description:
      "Local gateway: the request's Origin is not on `gateway.allowedOrigins` (a cross-site request or WebSocket hijacking defence).",
  },
  GATEWAY_CONNECTION_LIMIT: {
    status: 503,
    description:
      'Local gateway: too many open connections (from this address or in total). Connections that never authenticated are closed first; close idle connections and retry.',
  },
  STORE_SESSION_DAMAGED: {
    status: 500,
    description:
      "Local gateway: this conversation's file in the local store is damaged and cannot be read; other conversations are unaffected. `multiclaw-gateway doctor` names the file.",
  },
  AGENT_PROVIDER_MISSING: {
    status: 409,
    description: "The agent's model names a provider that is not configured under `models.providers`.",
  },
  AGENT_CREDENTIAL_NOT_GRANTED: {
    status: 403,
    description:
      "The agent's provider holds a credential that this agent is not allowed to use (`models.providers.<id>.allowedAgents`).",
  },
  IDEMPOTENCY_KEY_REUSED: {
    status: 409,
    description: 'The idempotency key was already used for a different request.',
  },
  SESSION_BUSY: {
    status: 409,
    description: 'An agent run is already in progress in this session: wait for it to finish or abort it.',
  },
  EGRESS_REFUSED: {
    status: 502,
    description:
      'The gateway refused an outbound connection to a destination that is not on its allowlist (see docs/connections.md).',
  },
  PROVIDER_AUTH_FAILED: {
    status: 424,
    description:
      'The model provider rejected the credential (HTTP 401 or 403): the API key in openclaw.json, not the gateway token. A 4xx, so clients do not retry what a retry cannot fix.',
  },
  PROVIDER_REQUEST_REJECTED: {
    status: 400,
    description:
      'The model provider refused the request as invalid for the model (HTTP 400, 404, 413 or 422: an unknown model, a prompt too long, a setting the model does not take). Retrying the same request cannot succeed.',
  },
  PROVIDER_RATE_LIMITED: {
    status: 429,
    description:
      'The model provider is rate limiting this key (HTTP 429); `details.retryAfterSeconds` says when to try again when the provider said.',
  },
  PROVIDER_UNAVAILABLE: {
    status: 502,
    description: 'The model provider answered with a server error (HTTP 5xx) or an unexpected status.',
  },
  PROVIDER_BAD_RESPONSE: {
    status: 502,
    description:
      'The model provider sent a response the gateway could not read (a malformed body or stream).',
  },
  DESKTOP_SECRET_INVALID: {
    status: 401,
    description:
      "Desktop host: the request carries no window secret (`x-multiclaw-secret`), or not this launch's. Open the window from the URL `multiclaw-desktop start` printed.",
  },
  DESKTOP_HOST_NOT_ALLOWED: {
    status: 403,
    description:
      'Desktop host: the Host header is not 127.0.0.1 or localhost with the host port (a DNS-rebinding defence).',
  },
  DESKTOP_ORIGIN_NOT_ALLOWED: {
    status: 403,
    description:
      "Desktop host: the request's Origin is not the host's own (a page on another site called it).",
  },
  DESKTOP_COMMAND_DENIED: {
    status: 403,
    description:
      "Desktop host: this window's capability files do not allow the command, or no such command exists. Nothing ran; the host logged the refusal (see docs/desktop.md).",
  },
  DESKTOP_GATEWAY_UNAVAILABLE: {
    status: 503,
    description:
      'Desktop host: no local gateway answers, or it refuses the token in openclaw.json. Start it (`gateway.start`, or `multiclaw-gateway start`) and try again.',
  },
  DESKTOP_PROVIDER_EXISTS: {
    status: 409,
    description:
      'Desktop host: a model provider with this id is configured already; replace its key instead.',
  },
  DESKTOP_PROVIDER_IN_USE: {
    status: 409,
    description:
      "Desktop host: the provider cannot be removed while an agent's model names it; change or delete those agents first.",
  },
  DESKTOP_CLOUD_NOT_CONFIGURED: {
    status: 409,
    description:
      'Desktop host: no MultiClaw Cloud is chosen in settings (`cloudUrl`), or local-only mode is on. Choose a cloud in settings first.',
  },
  DESKTOP_CLOUD_SIGNED_OUT: {
    status: 401,
    description:
      'Desktop host: not signed in to the cloud, or the session ended (signed out elsewhere, revoked, or a reused refresh token). Sign in again.',
  },
  DESKTOP_GATEWAY_LINK_FAILED: {
    status: 409,
    description:
      'Desktop host: `multiclaw-gateway link` did not link this computer (already linked to a workspace: unlink it first; or the cloud refused the code). `details.logFile` holds its output.',
  },
  DESKTOP_CLOUD_UNREACHABLE: {
    status: 502,
    description:
      'Desktop host: the cloud in settings could not be reached, or answered with something that is not MultiClaw Cloud. Check the address and the network.',
  },
  UPDATE_REFUSED: {
    status: 422,
    description:
      "An update was refused and nothing was installed: `details.reason` is the updater's refusal code (unsigned, another key, tampered, expired, not newer…, listed in docs/releasing.md).",
  },
  UPDATE_FEED_UNREACHABLE: {
    status: 502,
    description: 'The configured update feed (`update.feed` in openclaw.json) could not be reached.',
  },
  PROVIDER_UNREACHABLE: {
    status: 502,
    description:
      'The gateway could not connect to the model provider, or the connection was cut mid-response.',
  },
  EXTENSION_PAIRING_CODE_INVALID: {
    status: 400,
    description:
      'Local gateway: the browser-extension pairing code is unknown, already used or expired (5 minutes), or too many wrong codes burned every open one. Get a new code (`multiclaw-gateway extension pair`, or the desktop) and enter it in the extension popup.',
  },
  EXTENSION_ORIGIN_REQUIRED: {
    status: 403,
    description:
      'Local gateway: pairing is only possible from a Chrome extension (the request carries no `chrome-extension://<id>` Origin).',
  },
  EXTENSION_TOKEN_INVALID: {
    status: 401,
    description:
      'Local gateway: the extension token is missing, unknown or revoked (the extension was unpaired), or it is sent from another extension than the one it was issued to. Pair the extension again.',
  },
} as const satisfies Record<string, { status: number; description: string }>;

export const ErrorCode = z.enum(
  Object.keys(ERROR_CODES) as [keyof typeof ERROR_CODES, ...(keyof typeof ERROR_CODES)[]],
);
export type ErrorCode = z.infer<typeof ErrorCode>;

export const ValidationIssue = z.object({
  path: z.string(),
  message: z.string(),
});
export type ValidationIssue = z.infer<typeof ValidationIssue>;

export const ErrorDetails = z.object({
  issues: z.array(ValidationIssue).optional(),
  /** Set with rate-limit errors when the server (or an upstream) said how long to wait. */
  retryAfterSeconds: z.number().int().nonnegative().optional(),
  /** LINK_VERSION_UNSUPPORTED: the link protocol versions the gateway stated, and those the cloud speaks. */
  gateway: z.array(z.number().int()).optional(),
  cloud: z.array(z.number().int()).optional(),
  /** UPDATE_REFUSED, UPDATE_FEED_UNREACHABLE: the updater's own refusal code (docs/releasing.md). */
  reason: z.string().optional(),
});
export type ErrorDetails = z.infer<typeof ErrorDetails>;

/** The one JSON shape of every error response. */
export const ErrorEnvelope = z.object({
  error: z.object({
    code: ErrorCode,
    message: z.string(),
    requestId: z.string(),
    details: ErrorDetails.optional(),
  }),
});
export type ErrorEnvelope = z.infer<typeof ErrorEnvelope>;

/**
 * The one error class: a stable code plus a message that is safe to show a
 * user. Servers throw it; clients rebuild it from an envelope with
 * `ApiError.fromEnvelope`, so the shape round-trips.
 */
export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetails | undefined;

  constructor(code: ErrorCode, message: string, details?: ErrorDetails) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.details = details;
  }

  get status(): number {
    return ERROR_CODES[this.code].status;
  }

  toEnvelope(requestId: string): ErrorEnvelope {
    return {
      error: {
        code: this.code,
        message: this.message,
        requestId,
        ...(this.details ? { details: this.details } : {}),
      },
    };
  }

  /** Parses an untrusted response body; anything that is not an envelope is refused. */
  static fromEnvelope(body: unknown): ApiError & { requestId: string } {
    const { error } = ErrorEnvelope.parse(body);
    return Object.assign(new ApiError(error.code, error.message, error.details), {
      requestId: error.requestId,
    });
  }
}

export function isApiError(value: unknown): value is ApiError {
  return value instanceof ApiError;
}

/** Each zod issue as a dotted field path and its problem, for `details.issues`. */
export function issuesOf(error: z.ZodError): ValidationIssue[] {
  return error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
}
