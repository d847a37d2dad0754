import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@multiclaw/runtime/logger';
import { resolveGatewayPaths } from '../../../gateway/src/config/paths.js';
import { type RunningGateway, startGateway } from '../../../gateway/src/gateway.js';

export interface RecorderGateway {
  gateway: RunningGateway;
  port: number;
  stateDir: string;
  /** Every log line the gateway wrote, as JSON. */
  logs: Record<string, unknown>[];
  /** Stops it; its state stays for a restart. */
  stop(): Promise<void>;
}

/**
 * A real gateway (the product's composition root and logger) on 127.0.0.1;
 * started again on the same port and state directory it is the same gateway
 * after a restart, which is what the extension, paired to a port, sees.
 */
export async function startRecorderGateway(
  options: { stateDir?: string; port?: number; logs?: Record<string, unknown>[] } = {},
): Promise<RecorderGateway> {
  const stateDir = options.stateDir ?? (await mkdtemp(join(tmpdir(), 'mc-extension-gateway-')));
  const logs = options.logs ?? [];
  const log = createLogger({
    service: 'multiclaw-gateway',
    level: 'debug',
    destination: { write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>) },
  });
  const gateway = await startGateway({
    paths: resolveGatewayPaths({ OPENCLAW_STATE_DIR: stateDir }),
    log,
    port: options.port ?? 0,
  });
  return { gateway, port: gateway.port, stateDir, logs, stop: () => gateway.close() };
}

export async function removeState(stateDir: string): Promise<void> {
  await rm(stateDir, { recursive: true, force: true });
}

/** Every file the gateway keeps, concatenated: where a leaked value would be. */
export async function everythingStored(stateDir: string): Promise<string> {
  const parts: string[] = [];
  for (const entry of await readdir(stateDir, { recursive: true, withFileTypes: true }))
    if (entry.isFile()) parts.push(await readFile(join(entry.parentPath, entry.name), 'latin1'));
  return parts.join('\n');
}
