import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { GatewayServer } from '../../src/api/server.js';
import { ConfigFile } from '../../src/config/config-file.js';
import { resolveGatewayPaths } from '../../src/config/paths.js';
import type { GatewayConfig } from '../../src/config/schema.js';
import { buildGateway } from '../../src/gateway.js';
import type { StreamCompletion } from '../../src/providers/types.js';

/**
 * The gateway built by its composition root on a fresh state directory, not
 * listening: requests go through `server.app.inject()` with `host` (which
 * names `port`). What it opened is closed by `cleanups`.
 */
export async function builtServer(options: {
  port: number;
  cleanups: (() => Promise<unknown>)[];
  configure?: (config: GatewayConfig) => GatewayConfig;
  streamCompletion?: StreamCompletion;
}): Promise<{ server: GatewayServer; token: string; host: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'mc-gateway-built-'));
  options.cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const paths = resolveGatewayPaths({ OPENCLAW_STATE_DIR: dir });
  if (options.configure) await (await ConfigFile.open(paths)).update(options.configure);
  const gateway = await buildGateway({
    paths,
    log: pino({ level: 'silent' }),
    port: options.port,
    streamCompletion:
      options.streamCompletion ??
      (() => {
        throw new Error('no model provider in this test');
      }),
  });
  options.cleanups.push(() => gateway.close());
  return {
    server: gateway.server,
    token: gateway.config.cached().gateway.auth.token,
    host: `127.0.0.1:${options.port}`,
  };
}
