import { join } from 'node:path';
import { ApiError, Gateway, GatewayEnrollment, Page } from '@multiclaw/protocol';
import { ensurePrivateDir } from '@multiclaw/runtime/atomic-write';
import { gatewayBinPath } from '../gateway/gateway-process.js';
import { launchDetached } from '../system/processes.js';
import type { CloudSession } from './cloud-session.js';

export interface LinkDeps {
  session: CloudSession;
  /** The environment the gateway runs with (OPENCLAW_STATE_DIR…): the link lands in its state directory. */
  env: NodeJS.ProcessEnv;
  logDir: string;
}

/**
 * "Link this computer": the host asks the cloud for a one-time enrollment
 * code and runs `multiclaw-gateway link` with it, the same command a person
 * would type, on the same state directory. A running gateway picks the new
 * link up within about a second.
 */
export async function linkThisComputer(
  deps: LinkDeps,
  workspaceId: string,
): Promise<{ workspaceId: string; cloudUrl: string; gatewayId?: string }> {
  const cloudUrl = await deps.session.configuredBase();
  const answer = await deps.session.request(
    'POST',
    `/v1/workspaces/${encodeURIComponent(workspaceId)}/gateway-enrollments`,
    {
      body: {},
    },
  );
  const { code } = GatewayEnrollment.parse(answer.body);
  await ensurePrivateDir(deps.logDir);
  const logFile = join(deps.logDir, 'gateway-link.log');
  const launched = launchDetached(
    process.execPath,
    [gatewayBinPath(), 'link', '--cloud', cloudUrl, '--code', code],
    {
      env: deps.env,
      logFile,
    },
  );
  const exit = await launched.exited;
  if (exit !== 0) {
    throw new ApiError(
      'DESKTOP_GATEWAY_LINK_FAILED',
      `The gateway could not link (exit ${exit}): it may be linked already (unlink it first), or the cloud refused the code. Its output is in ${logFile}.`,
      { reason: `exit ${exit}` },
    );
  }
  return { workspaceId, cloudUrl, ...(await newestGatewayOf(deps.session, workspaceId)) };
}

/** The gateway just enrolled: the newest of this person's gateways the cloud lists that is not revoked. */
async function newestGatewayOf(session: CloudSession, workspaceId: string): Promise<{ gatewayId?: string }> {
  const user = (await session.status()).user;
  const answer = await session.request('GET', `/v1/workspaces/${encodeURIComponent(workspaceId)}/gateways`, {
    query: { limit: 100 },
  });
  const { items } = Page(Gateway).parse(answer.body);
  const mine = items
    .filter((gateway) => gateway.userId === user?.id && !gateway.revokedAt)
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  return mine[0] ? { gatewayId: mine[0].id } : {};
}
