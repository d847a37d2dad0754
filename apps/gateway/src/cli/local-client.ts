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

export async function fetchGatewayStatus(
  config: GatewayConfig,
  timeoutMs = 2_000,
): Promise<{ running: true; status: Record<string, unknown> } | { running: false; reason: string }> {
  const origin = localGatewayOrigin(config);
  try {
    const response = await localEgress([origin]).fetch(`${origin}/v1/gateway/status`, {
      headers: { authorization: `Bearer ${config.gateway.auth.token}` },
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!response.ok) return { running: false, reason: `${origin} answered HTTP ${response.status}` };
    return { running: true, status: (await response.json()) as Record<string, unknown> };
  } catch (error) {
    return { running: false, reason: `nothing answered on ${origin} (${(error as Error).message})` };
  }
}
