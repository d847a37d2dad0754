import type { KeyObject } from 'node:crypto';
import type { Egress } from '../egress/egress.js';
import { signLinkAssertion } from './assertion.js';
import {
  deleteIdentity,
  type IdentityPaths,
  type LinkStateFile,
  readDeviceKey,
  readLinkState,
} from './identity.js';

/** Where the cloud copy of this gateway stands after `unlink`. */
export type CloudRevocation =
  | { state: 'revoked' }
  | { state: 'already revoked' }
  | { state: 'not revoked'; reason: string };

/** The gateway-authenticated self-revoke the cloud may offer (proposed in issue 14's link work). */
export const SELF_REVOKE_PATH = '/v1/gateway-link/self';

/**
 * `unlink`: deletes the link state and the key, then asks the cloud to revoke
 * this gateway (signed with the key, still in memory: the gateway holds no
 * person's bearer), whatever the cloud then says. A running gateway notices within a second and
 * drops the workspace's agents and secret values. Answers undefined when
 * there was no link.
 */
export async function unlinkGateway(options: {
  identity: IdentityPaths;
  egressFor: (origin: string) => Egress;
  warn: (message: string) => void;
  now?: () => Date;
}): Promise<{ unlinked: LinkStateFile; cloud: CloudRevocation } | undefined> {
  const state = await readLinkState(options.identity);
  if (!state) {
    await deleteIdentity(options.identity);
    return undefined;
  }
  const privateKey = state.revokedAt
    ? undefined
    : await readDeviceKey(options.identity, options.warn).catch(() => undefined);
  // Deleted first: a running gateway that hears the revocation must find no link left to mark revoked.
  await deleteIdentity(options.identity);
  if (state.revokedAt) return { unlinked: state, cloud: { state: 'already revoked' } };
  if (!privateKey) {
    return {
      unlinked: state,
      cloud: { state: 'not revoked', reason: 'the device key was missing or unreadable' },
    };
  }
  const cloud = await revokeAtCloud(state, privateKey, options).catch(
    (error: unknown): CloudRevocation => ({ state: 'not revoked', reason: (error as Error).message }),
  );
  return { unlinked: state, cloud };
}

async function revokeAtCloud(
  state: LinkStateFile,
  privateKey: KeyObject,
  options: { egressFor: (origin: string) => Egress; now?: () => Date },
): Promise<CloudRevocation> {
  const { assertion } = await signLinkAssertion({
    privateKey,
    gatewayId: state.gatewayId,
    cloudUrl: state.cloudUrl,
    now: options.now?.() ?? new Date(),
  });
  let response: Response;
  try {
    response = await options
      .egressFor(new URL(state.cloudUrl).origin)
      .fetch(`${state.cloudUrl}${SELF_REVOKE_PATH}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${assertion}` },
        signal: AbortSignal.timeout(15_000),
      });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    return {
      state: 'not revoked',
      reason: `the cloud at ${state.cloudUrl} could not be reached (${cause ?? (error as Error).message})`,
    };
  }
  await response.body?.cancel().catch(() => undefined);
  if (response.status === 204 || response.status === 200) return { state: 'revoked' };
  if (response.status === 403) return { state: 'already revoked' };
  if (response.status === 404)
    return {
      state: 'not revoked',
      reason: `the cloud at ${state.cloudUrl} does not offer a gateway self-revoke`,
    };
  return { state: 'not revoked', reason: `the cloud answered HTTP ${response.status}` };
}
