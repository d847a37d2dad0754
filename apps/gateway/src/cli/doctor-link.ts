import { stat } from 'node:fs/promises';
import type { GatewayPaths } from '../config/paths.js';
import { identityPaths, readLinkState } from '../link/identity.js';
import { localEgress } from './local-client.js';

/**
 * `doctor`'s look at the cloud link: the link state readable, the device key
 * present, not revoked, and (unless --offline) the cloud answering. Reads
 * only: permissions are the general check's, repairs are `start`'s.
 */
export async function checkCloudLink(
  paths: GatewayPaths,
  options: { offline: boolean },
): Promise<{ name: string; ok: boolean; detail: string }> {
  const name = 'cloud link';
  const identity = identityPaths(paths.stateDir);
  let state: Awaited<ReturnType<typeof readLinkState>>;
  try {
    state = await readLinkState(identity);
  } catch (error) {
    return { name, ok: false, detail: (error as Error).message };
  }
  if (!state) return { name, ok: true, detail: 'not linked: nothing leaves this machine for a cloud' };
  if (state.revokedAt) {
    return {
      name,
      ok: false,
      detail: `workspace ${state.workspaceId} revoked this gateway (${state.revokedReason ?? 'revoked'}); run "multiclaw-gateway unlink", then link again with a new code`,
    };
  }
  if (!(await stat(identity.keyPath).catch(() => undefined))) {
    return {
      name,
      ok: false,
      detail: `linked, but the device key ${identity.keyPath} is missing; run "multiclaw-gateway unlink", then link again`,
    };
  }
  const linked = `linked to workspace ${state.workspaceId} at ${state.cloudUrl} (gateway ${state.gatewayId})`;
  if (options.offline) return { name, ok: true, detail: linked };
  try {
    const response = await localEgress([new URL(state.cloudUrl).origin]).fetch(`${state.cloudUrl}/healthz`, {
      signal: AbortSignal.timeout(5_000),
    });
    await response.body?.cancel();
    return response.ok
      ? { name, ok: true, detail: `${linked}; the cloud answers` }
      : { name, ok: false, detail: `${linked}; the cloud answered HTTP ${response.status}` };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    return {
      name,
      ok: false,
      detail: `${linked}; the cloud is unreachable (${cause ?? (error as Error).message})`,
    };
  }
}
