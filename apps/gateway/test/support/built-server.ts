import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { AuthFailureLimiter } from '../../src/api/auth-failure-limiter.js';
import { buildServer, type GatewayServer } from '../../src/api/server.js';
import { ConfigFile } from '../../src/config/config-file.js';
import { resolveGatewayPaths } from '../../src/config/paths.js';
import type { GatewayConfig } from '../../src/config/schema.js';
import { createEgress } from '../../src/egress/egress.js';
import type { StreamCompletion } from '../../src/providers/types.js';
import { IdempotencyLog } from '../../src/runs/idempotency-log.js';
import { RunService } from '../../src/runs/run-service.js';
import { LocalStore } from '../../src/store/local-store.js';

/**
 * The gateway's API built as the composition root builds it, on a fresh state
 * directory, and not listening: requests go through `server.app.inject()`
 * with `host` naming `port`. What it opened is closed by `cleanups`.
 */
export async function builtServer(options: {
  port: number;
  cleanups: (() => Promise<unknown>)[];
  configure?: (config: GatewayConfig) => GatewayConfig;
  streamCompletion?: StreamCompletion;
}): Promise<{ server: GatewayServer; token: string; host: string }> {
  const log = pino({ level: 'silent' });
  const dir = await mkdtemp(join(tmpdir(), 'mc-gateway-built-'));
  options.cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const paths = resolveGatewayPaths({ OPENCLAW_STATE_DIR: dir });
  const config = await ConfigFile.open(paths);
  if (options.configure) await config.update(options.configure);
  const store = await LocalStore.open(paths.storeDir, { warn: () => {} });
  options.cleanups.push(() => store.close());
  const runs = new RunService({
    config,
    store,
    idempotency: await IdempotencyLog.open(join(paths.storeDir, 'idempotency.log')),
    egress: createEgress({ allowedOrigins: () => [], log }),
    streamCompletion:
      options.streamCompletion ??
      (() => {
        throw new Error('no model provider in this test');
      }),
    log,
  });
  const server = buildServer(
    { config, store, runs, limiter: new AuthFailureLimiter(), log, version: 'test', startedAt: Date.now() },
    { bind: 'loopback', port: options.port },
  );
  options.cleanups.push(async () => {
    server.closeControl('test over');
    await server.app.close();
  });
  return { server, token: config.cached().gateway.auth.token, host: `127.0.0.1:${options.port}` };
}
