import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ensurePrivateDir } from '@multiclaw/runtime/atomic-write';
import { type Launched, launchDetached } from '../system/processes.js';

/** apps/gateway/bin/multiclaw-gateway.mjs, wherever the gateway package is installed. */
export function gatewayBinPath(): string {
  const packageJson = createRequire(import.meta.url).resolve('@multiclaw/gateway/package.json');
  return join(dirname(packageJson), 'bin', 'multiclaw-gateway.mjs');
}

/**
 * `multiclaw-gateway start`, detached so that it outlives the desktop, with
 * the same environment (so the same OPENCLAW_STATE_DIR / openclaw.json), its
 * output appended to <state>/logs/gateway.log.
 */
export async function spawnGateway(options: {
  env: NodeJS.ProcessEnv;
  logDir: string;
}): Promise<Launched & { logFile: string }> {
  await ensurePrivateDir(options.logDir);
  const logFile = join(options.logDir, 'gateway.log');
  const launched = launchDetached(process.execPath, [gatewayBinPath(), 'start'], {
    env: options.env,
    logFile,
  });
  return { ...launched, logFile };
}
