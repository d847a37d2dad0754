import { applyUpdate, checkForUpdate, type UpdateApplied, type UpdateCheck } from '@multiclaw/updater';
import { readConfigFile } from '../config/config-file.js';
import type { GatewayPaths } from '../config/paths.js';
import { gatewayUpdaterOptions } from './gateway-updater.js';

/**
 * Checks for, or applies, a gateway update as configured in openclaw.json:
 * what `multiclaw-gateway update check|apply` runs, and what the desktop host
 * calls (`@multiclaw/gateway/update`) to show a notice on 'available' and to
 * apply on the person's click. Refusals are UpdateRefusedError with a stable code.
 */
export async function gatewayUpdate(
  action: 'check' | 'apply',
  paths: GatewayPaths,
  env: NodeJS.ProcessEnv,
  warn: (message: string) => void,
): Promise<UpdateCheck | UpdateApplied> {
  const config = await readConfigFile(paths);
  const options = gatewayUpdaterOptions({ paths, update: config?.update, env, warn });
  return action === 'check' ? checkForUpdate(options) : applyUpdate(options);
}
