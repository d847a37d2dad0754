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
 * `unlink`: asks the cloud to revoke this gateway (signed with its own key:
 * the gateway holds no person's bearer), then deletes the link state and the
 * key whatever the cloud said. A running gateway notices within a second and
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
  const cloud = state.revokedAt
    ? ({ state: 'already revoked' } as const)
    : await revokeAtCloud(state, options).catch(
        (error: unknown): CloudRevocation => ({ state: 'not revoked', reason: (error as Error).message }),
      );
  await deleteIdentity(options.identity);
  return { unlinked: state, cloud };
}

async function revokeAtCloud(
  state: LinkStateFile,
  options: {
    identity: IdentityPaths;
    egressFor: (origin: string) => Egress;
    warn: (message: string) => void;
    now?: () => Date;
  },
): Promise<CloudRevocation> {
  const privateKey = await readDeviceKey(options.identity, options.warn);
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
