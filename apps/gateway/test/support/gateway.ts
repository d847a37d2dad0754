import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@multiclaw/runtime/logger';
import type { AuthFailureLimiter } from '../../src/api/auth-failure-limiter.js';
import type { ConnectionLimits } from '../../src/api/connection-limits.js';
import { ConfigFile } from '../../src/config/config-file.js';
import { resolveGatewayPaths } from '../../src/config/paths.js';
import type { GatewayConfig } from '../../src/config/schema.js';
import { type RunningGateway, startGateway } from '../../src/gateway.js';

export interface TestGateway {
  gateway: RunningGateway;
  url: string;
  port: number;
  token: string;
  stateDir: string;
  logs: Record<string, unknown>[];
  authHeaders: { authorization: string };
  close(): Promise<void>;
}

/**
 * A real gateway on a free loopback port, with its own state directory.
 * `configure` edits the config before start (agents, providers, origins).
 */
export async function startTestGateway(
  options: {
    configure?: (config: GatewayConfig) => GatewayConfig;
    limiter?: AuthFailureLimiter;
    /** Reuse a state directory (a restart); it is then left in place on close. */
    stateDir?: string;
    tickIntervalMs?: number;
    connectionLimits?: Partial<ConnectionLimits>;
  } = {},
): Promise<TestGateway> {
  const stateDir = options.stateDir ?? (await mkdtemp(join(tmpdir(), 'mc-gateway-test-')));
  const paths = resolveGatewayPaths({ OPENCLAW_STATE_DIR: stateDir });
  if (options.configure) {
    const config = await ConfigFile.open(paths);
    await config.update(options.configure);
  }
  const logs: Record<string, unknown>[] = [];
  // The product's own logger (redaction, serializers), writing into `logs`.
  const log = createLogger({
    service: 'multiclaw-gateway',
    level: 'debug',
    destination: { write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>) },
  });
  const gateway = await startGateway({
    paths,
    log,
    port: 0,
    ...(options.limiter ? { limiter: options.limiter } : {}),
    ...(options.tickIntervalMs ? { tickIntervalMs: options.tickIntervalMs } : {}),
    ...(options.connectionLimits ? { connectionLimits: options.connectionLimits } : {}),
  });
  const token = gateway.config.cached().gateway.auth.token;
  return {
    gateway,
    url: `http://127.0.0.1:${gateway.port}`,
    port: gateway.port,
    token,
    stateDir,
    logs,
    authHeaders: { authorization: `Bearer ${token}` },
    close: async () => {
      await gateway.close();
      if (!options.stateDir) await rm(stateDir, { recursive: true, force: true });
    },
  };
}

/**
 * `config` with one agent (`main` unless named) whose model is served by one
 * OpenAI-compatible provider at `baseUrl`, the agent allowed to use its key.
 */
export function withOneAgent(
  config: GatewayConfig,
  provider: { baseUrl: string; apiKey: string; agentId?: string; model?: string },
): GatewayConfig {
  const agentId = provider.agentId ?? 'main';
  return {
    ...config,
    agents: { list: [{ id: agentId, name: 'Main', model: `openai/${provider.model ?? 'gpt-test'}` }] },
    models: {
      providers: {
        openai: {
          api: 'openai-completions',
          baseUrl: provider.baseUrl,
          apiKey: provider.apiKey,
          allowedAgents: [agentId],
        },
      },
    },
  };
}
