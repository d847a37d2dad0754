import type { LinkStatus } from './cloud-link.js';
import { type IdentityPaths, readLinkState } from './identity.js';

/**
 * The link as the files tell it, for `status` when no gateway runs: nothing
 * is connected, so a live link is 'offline'; a revoked one stays 'revoked'.
 */
export async function storedLinkStatus(identity: IdentityPaths): Promise<LinkStatus> {
  let state: Awaited<ReturnType<typeof readLinkState>>;
  try {
    state = await readLinkState(identity);
  } catch (error) {
    return { state: 'offline', reason: (error as Error).message };
  }
  if (!state) return { state: 'not linked' };
  const ids = {
    gatewayId: state.gatewayId,
    workspaceId: state.workspaceId,
    cloudUrl: state.cloudUrl,
    linkedAt: state.linkedAt,
  };
  if (state.revokedAt)
    return { state: 'revoked', reason: state.revokedReason ?? 'revoked', ...ids, since: state.revokedAt };
  return { state: 'offline', reason: 'the gateway is not running', ...ids };
}
