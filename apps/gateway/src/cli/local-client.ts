import { ErrorEnvelope } from '@multiclaw/protocol';
import type { GatewayConfig } from '../config/schema.js';
import { createEgress, type Egress } from '../egress/egress.js';
import { GatewayCallError, GatewayClient, GatewayUpgradeRefused } from './gateway-client.js';

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
  const url = origin.replace(/^http/, 'ws');
  let client: GatewayClient | undefined;
  try {
    client = await GatewayClient.connect(localEgress([origin]), `${url}/`, {
      token: config.gateway.auth.token,
      timeoutMs,
    });
    const status = (await client.call('status')) as Record<string, unknown>;
    if (typeof status?.pid === 'number') return { state: 'running', running: true, status };
    return otherProgram(origin, 'its status answer is not a MultiClaw gateway’s');
  } catch (error) {
    if (error instanceof GatewayCallError) {
      const code = REFUSAL_CODES[error.detailCode ?? ''] ?? error.detailCode ?? error.error.code;
      const retryAfter =
        error.error.retryAfterMs === undefined ? undefined : Math.ceil(error.error.retryAfterMs / 1000);
      return {
        state: 'refusing',
        running: true,
        code,
        reason: `${refusalAdvice(code, retryAfter)} (${code}: ${error.message})`,
      };
    }
    if (error instanceof GatewayUpgradeRefused) {
      const envelope = ErrorEnvelope.safeParse(safeJson(error.body));
      if (!envelope.success) return otherProgram(origin, `HTTP ${error.status}, not a MultiClaw gateway`);
      const { code, message } = envelope.data.error;
      return {
        state: 'refusing',
        running: true,
        code,
        reason: `${refusalAdvice(code)} (${code}: ${message})`,
      };
    }
    const message = (error as Error).message;
    if (/ECONNREFUSED|ENOTFOUND|EADDRNOTAVAIL|no answer from/.test(message))
      return { state: 'not running', running: false, reason: `nothing answered on ${origin} (${message})` };
    return otherProgram(origin, message);
  } finally {
    client?.close();
  }
}

/** OpenClaw's handshake refusals, in the codes the advice below speaks. */
const REFUSAL_CODES: Record<string, string> = {
  AUTH_TOKEN_MISMATCH: 'UNAUTHENTICATED',
  AUTH_TOKEN_MISSING: 'UNAUTHENTICATED',
  AUTH_RATE_LIMITED: 'RATE_LIMITED',
};

function otherProgram(origin: string, why: string): GatewayProbe {
  return {
    state: 'other program',
    running: false,
    reason: `${origin} is answered by another program (${why})`,
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function refusalAdvice(code: string, retryAfterSeconds?: number): string {
  switch (code) {
    case 'UNAUTHENTICATED':
      return 'a gateway is running but refuses the token in this openclaw.json: it was started with another config or state directory, or the token was changed by hand; restart it';
    case 'RATE_LIMITED':
      return `a gateway is running but throttles wrong tokens from this machine; retry in ${retryAfterSeconds ?? 60} s`;
    case 'GATEWAY_CONNECTION_LIMIT':
      return 'a gateway is running but has too many open connections (another local program may be flooding it)';
    case 'GATEWAY_HOST_NOT_ALLOWED':
      return 'a gateway is running but refuses the address the CLI used (gateway.bind changed since it started?); restart it';
    default:
      return 'a gateway is running but refused the status request';
  }
}
