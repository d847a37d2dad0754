import type { ApiError } from '@multiclaw/protocol';
import { ConnectParams, GATEWAY_PROTOCOL_VERSION, issuesOf } from '@multiclaw/protocol';
import type { GatewayConfig } from '../config/schema.js';
import type { AuthFailureLimiter } from './auth-failure-limiter.js';
import { verifyDeviceIdentity } from './device-identity.js';
import { OPERATOR_SCOPES } from './method-scopes.js';
import { ProtocolRefusal } from './protocol-errors.js';

export const CLOSE_PROTOCOL_MISMATCH = 1002;
const OPERATOR_ROLE = 'operator';

/** What a connection may do once its `connect` is admitted. */
export type Admitted = { params: ConnectParams; role: string; scopes: string[]; token: string };

export interface ConnectContext {
  config: GatewayConfig;
  limiter: AuthFailureLimiter;
  /** This connection's `connect.challenge` nonce. */
  nonce: string;
  now: number;
  remoteAddress: string | undefined;
  /** The page's Origin, when the client is a browser page (already on gateway.allowedOrigins). */
  origin: string | undefined;
}

/**
 * OpenClaw protocol v4's admission of a `connect`, step by step in OpenClaw's
 * order: its params, the protocol range, the role, the gateway token, the
 * device identity, then the scopes granted. Each refusal is OpenClaw's error
 * and detail code, thrown as a ProtocolRefusal carrying its close code.
 */
export function checkConnect(raw: unknown, context: ConnectContext): Admitted {
  const params = parseParams(raw);
  checkProtocolRange(params);
  const role = params.role ?? OPERATOR_ROLE;
  // OpenClaw's `node` role (devices that run commands for the gateway) has no counterpart here.
  if (role !== OPERATOR_ROLE)
    throw new ProtocolRefusal('INVALID_REQUEST', 'invalid role', 'ROLE_UNSUPPORTED', { details: { role } });
  const token = checkToken(params, context);
  checkDevice(params, role, context);
  // A client gets the scopes it asked for that exist; nothing it did not ask for.
  const scopes = [...new Set(params.scopes ?? [])].filter((scope) =>
    (OPERATOR_SCOPES as readonly string[]).includes(scope),
  );
  return { params, role, scopes, token };
}

function parseParams(raw: unknown): ConnectParams {
  const parsed = ConnectParams.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issues = issuesOf(parsed.error);
  const summary = issues.map((issue) => `${issue.path || '/'}: ${issue.message}`).join('; ');
  throw new ProtocolRefusal(
    'INVALID_REQUEST',
    `invalid connect params: ${summary}`,
    'INVALID_CONNECT_PARAMS',
    {
      details: { issues },
    },
  );
}

function checkProtocolRange(params: ConnectParams): void {
  if (params.maxProtocol >= GATEWAY_PROTOCOL_VERSION && params.minProtocol <= GATEWAY_PROTOCOL_VERSION)
    return;
  throw new ProtocolRefusal('INVALID_REQUEST', 'protocol mismatch', 'PROTOCOL_MISMATCH', {
    details: {
      clientMinProtocol: params.minProtocol,
      clientMaxProtocol: params.maxProtocol,
      expectedProtocol: GATEWAY_PROTOCOL_VERSION,
    },
    closeCode: CLOSE_PROTOCOL_MISMATCH,
  });
}

/** The shared gateway token, constant-time, through the failure limiter; the token is returned for the rotation check. */
function checkToken(params: ConnectParams, context: ConnectContext): string {
  const presented = params.auth?.token;
  const failure = context.limiter.authenticate(
    context.remoteAddress,
    presented,
    context.config.gateway.auth.token,
    '',
  );
  if (failure) throw authRefusal(failure, presented !== undefined);
  return presented as string;
}

function checkDevice(params: ConnectParams, role: string, context: ConnectContext): void {
  if (!params.device) {
    // A page in a browser must prove a device key of its own: the token alone could have leaked into it.
    if (context.origin)
      throw new ProtocolRefusal('NOT_PAIRED', 'device identity required', 'DEVICE_IDENTITY_REQUIRED');
    return;
  }
  const check = verifyDeviceIdentity(
    { device: params.device, client: params.client, role, scopes: params.scopes ?? [], auth: params.auth },
    { challengeNonce: context.nonce, now: context.now },
  );
  if (!check.ok) throw new ProtocolRefusal('INVALID_REQUEST', check.message, check.detailCode);
}

/** The limiter's answer in OpenClaw's words: a missing or wrong token, or too many wrong ones. */
function authRefusal(failure: ApiError, tokenSent: boolean): ProtocolRefusal {
  if (failure.code === 'RATE_LIMITED') {
    const seconds = Number(failure.details?.retryAfterSeconds ?? 60);
    return new ProtocolRefusal(
      'INVALID_REQUEST',
      'unauthorized: too many failed authentication attempts (retry later)',
      'AUTH_RATE_LIMITED',
      { retryAfterMs: seconds * 1000, details: { authReason: 'rate_limited' } },
    );
  }
  return tokenSent
    ? new ProtocolRefusal(
        'INVALID_REQUEST',
        "unauthorized: gateway token mismatch (use this gateway's gateway.auth.token from openclaw.json)",
        'AUTH_TOKEN_MISMATCH',
        { details: { authReason: 'token_mismatch' } },
      )
    : new ProtocolRefusal(
        'INVALID_REQUEST',
        "unauthorized: gateway token missing (send this gateway's gateway.auth.token in connect.auth.token)",
        'AUTH_TOKEN_MISSING',
        { details: { authReason: 'token_missing' } },
      );
}
