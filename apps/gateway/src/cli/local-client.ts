import { ErrorEnvelope } from '@multiclaw/protocol';
import type { GatewayConfig } from '../config/schema.js';
import { createEgress, type Egress } from '../egress/egress.js';

/** The CLI's way to reach a running gateway: through the egress module, allowed to exactly that loopback origin. */
export function localGatewayOrigin(config: GatewayConfig): string {
  const host = config.gateway.bind === 'loopback' ? '127.0.0.1' : config.gateway.bind;
  return `http://${host.includes(':') ? `[${host}]` : host}:${config.gateway.port}`;
}

export function localEgress(origins: string[], quiet = true): Egress {
  return createEgress({
    allowedOrigins: () => origins,
    log: { warn: (_obj, msg) => (quiet ? undefined : process.stderr.write(`${msg}\n`)) },
  });
}

/**
 * What answers on the gateway's port, told apart: our gateway serving us, our
 * gateway refusing us (its error envelope says why), another program, or
 * nothing at all.
 */
export type GatewayProbe =
  | { state: 'running'; running: true; status: Record<string, unknown> }
  | { state: 'refusing'; running: true; code: string; reason: string }
  | { state: 'other program'; running: false; reason: string }
  | { state: 'not running'; running: false; reason: string };

export async function fetchGatewayStatus(config: GatewayConfig, timeoutMs = 2_000): Promise<GatewayProbe> {
  const origin = localGatewayOrigin(config);
  let response: Response;
  try {
    response = await localEgress([origin]).fetch(`${origin}/v1/gateway/status`, {
      headers: { authorization: `Bearer ${config.gateway.auth.token}` },
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    return {
      state: 'not running',
      running: false,
      reason: `nothing answered on ${origin} (${(error as Error).message})`,
    };
  }
  const body: unknown = await response.json().catch(() => undefined);
  if (response.ok && typeof (body as { pid?: unknown } | undefined)?.pid === 'number')
    return { state: 'running', running: true, status: body as Record<string, unknown> };
  const envelope = ErrorEnvelope.safeParse(body);
  if (!envelope.success)
    return {
      state: 'other program',
      running: false,
      reason: `${origin} is answered by another program (HTTP ${response.status}, not a MultiClaw gateway)`,
    };
  const { code, message } = envelope.data.error;
  return {
    state: 'refusing',
    running: true,
    code,
    reason: `${refusalAdvice(code, response)} (${code}: ${message})`,
  };
}

function refusalAdvice(code: string, response: Response): string {
  switch (code) {
    case 'UNAUTHENTICATED':
      return 'a gateway is running but refuses the token in this openclaw.json: it was started with another config or state directory, or the token was changed by hand; restart it';
    case 'RATE_LIMITED':
      return `a gateway is running but throttles wrong tokens from this machine; retry in ${response.headers.get('retry-after') ?? 'a minute'} s`;
    case 'GATEWAY_CONNECTION_LIMIT':
      return 'a gateway is running but has too many open connections (another local program may be flooding it)';
    case 'GATEWAY_HOST_NOT_ALLOWED':
      return 'a gateway is running but refuses the address the CLI used (gateway.bind changed since it started?); restart it';
    default:
      return 'a gateway is running but refused the status request';
  }
}
