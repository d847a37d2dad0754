import { ConfigFile } from '../config/config-file.js';
import type { GatewayPaths } from '../config/paths.js';
import { generateGatewayToken } from '../config/schema.js';
import { EXIT } from './exit-codes.js';

/**
 * `token rotate`: a fresh 256-bit token, written atomically. A running gateway
 * checks the file on every request, so the old token stops working at once;
 * open WebSocket sessions that used it are closed at their next tick.
 */
export async function runTokenRotate(paths: GatewayPaths, options: { show: boolean }): Promise<number> {
  const config = await ConfigFile.open(paths);
  const token = generateGatewayToken();
  await config.update((current) => ({
    ...current,
    gateway: { ...current.gateway, auth: { ...current.gateway.auth, token } },
  }));
  process.stdout.write(
    `rotated the gateway token in ${paths.configPath}; the previous token no longer works\n`,
  );
  if (options.show) process.stdout.write(`${token}\n`);
  return EXIT.OK;
}
