import { join } from 'node:path';
import { ApiError, type LinkStatus } from '@multiclaw/protocol';
import { ensurePrivateDir } from '@multiclaw/runtime/atomic-write';
import { gatewayBinPath } from '../gateway/gateway-process.js';
import { launchDetached } from '../system/processes.js';

export interface UnlinkDeps {
  /** The local gateway's link as it reports it now (undefined: no gateway answers). */
  linkOf: () => Promise<LinkStatus | undefined>;
  /** The environment the gateway runs with (OPENCLAW_STATE_DIR…): the link to drop is in its state directory. */
  env: NodeJS.ProcessEnv;
  logDir: string;
}

/**
 * "Unlink this computer": runs `multiclaw-gateway unlink`, the command a
 * person would type, on the gateway's state directory. It revokes the gateway
 * at the cloud when it can and deletes the key; a running gateway drops the
 * workspace's agents and secrets within about a second. The command knows no
 * workspace, so the host first checks that the link is to the one the person
 * is looking at: a click in one workspace never unlinks another.
 */
export async function unlinkThisComputer(deps: UnlinkDeps, workspaceId: string): Promise<{ ok: true }> {
  const link = await deps.linkOf();
  if (!link) {
    throw new ApiError(
      'DESKTOP_GATEWAY_UNAVAILABLE',
      "This computer's gateway is not running, so the app cannot tell which workspace it is linked to. Start it on the Status screen and try again.",
    );
  }
  if (link.state === 'not linked' || link.workspaceId !== workspaceId) {
    throw new ApiError(
      'DESKTOP_GATEWAY_LINK_FAILED',
      link.state === 'not linked'
        ? "This computer's gateway is not linked to any workspace: there is nothing to unlink."
        : "This computer's gateway is linked to another workspace, not this one: unlink it from there.",
      { reason: 'not linked here' },
    );
  }
  await ensurePrivateDir(deps.logDir);
  const logFile = join(deps.logDir, 'gateway-link.log');
  const exit = await launchDetached(process.execPath, [gatewayBinPath(), 'unlink'], {
    env: deps.env,
    logFile,
  }).exited;
  if (exit !== 0) {
    throw new ApiError(
      'DESKTOP_GATEWAY_LINK_FAILED',
      `The gateway could not unlink (exit ${exit}). Its output is in ${logFile}.`,
      { reason: `exit ${exit}` },
    );
  }
  return { ok: true };
}
