import { ApiError } from '@multiclaw/protocol';
import type { GatewayPaths } from '../config/paths.js';
import { AlreadyLinkedError, CloudUnreachableError, enrollGateway } from '../link/enroll.js';
import { IdentityError, identityPaths } from '../link/identity.js';
import { LINK_STATE_POLL_MS } from '../link/link-service.js';
import { unlinkGateway } from '../link/unlink.js';
import { EXIT } from './exit-codes.js';
import { localEgress } from './local-client.js';

/** Egress for the CLI: exactly the cloud's origin, refusals printed. */
const egressFor = (origin: string) => localEgress([origin], false);

/**
 * `link --cloud URL --code CODE [--name NAME]`: enrolls this gateway and
 * writes its identity. A running gateway reads the new link state within a
 * second (it polls identity/link.json), so this works the same with or
 * without the daemon.
 */
export async function runLink(
  paths: GatewayPaths,
  options: { cloud: string; code: string; name?: string | undefined },
): Promise<number> {
  try {
    const state = await enrollGateway({
      identity: identityPaths(paths.stateDir),
      cloud: options.cloud,
      code: options.code,
      name: options.name,
      egressFor,
    });
    process.stdout.write(
      `linked to workspace ${state.workspaceId} at ${state.cloudUrl} as gateway ${state.gatewayId}.\n` +
        `A running gateway connects within ${Math.ceil(LINK_STATE_POLL_MS / 1000) + 1} s; "multiclaw-gateway status" shows the link.\n`,
    );
    return EXIT.OK;
  } catch (error) {
    return reportFailure(error);
  }
}

/** `unlink`: revokes at the cloud when it can, then deletes the key and the link state. */
export async function runUnlink(paths: GatewayPaths): Promise<number> {
  try {
    const result = await unlinkGateway({
      identity: identityPaths(paths.stateDir),
      egressFor,
      warn: (message) => process.stderr.write(`${message}\n`),
    });
    if (!result) {
      process.stdout.write('this gateway is not linked; nothing to do.\n');
      return EXIT.OK;
    }
    const { unlinked, cloud } = result;
    process.stdout.write(
      `unlinked from workspace ${unlinked.workspaceId}; the key and link state are deleted.\n`,
    );
    if (cloud.state === 'not revoked') {
      process.stdout.write(
        `The cloud was not told (${cloud.reason}): revoke gateway ${unlinked.gatewayId} from the workspace's gateway list in MultiClaw Cloud.\n`,
      );
    }
    return EXIT.OK;
  } catch (error) {
    return reportFailure(error);
  }
}

function reportFailure(error: unknown): number {
  if (error instanceof AlreadyLinkedError || error instanceof IdentityError) {
    process.stderr.write(`${error.message}\n`);
    return EXIT.PROBLEMS;
  }
  if (error instanceof CloudUnreachableError) {
    process.stderr.write(`${error.message}\n`);
    return EXIT.UNAVAILABLE;
  }
  if (error instanceof ApiError) {
    process.stderr.write(`${advice(error)} (${error.code})\n`);
    if (error.code === 'EGRESS_REFUSED' || error.code === 'PROVIDER_UNREACHABLE') return EXIT.UNAVAILABLE;
    return error.code === 'LINK_CLOUD_URL_INSECURE' || error.code === 'VALIDATION_FAILED'
      ? EXIT.USAGE
      : EXIT.PROBLEMS;
  }
  throw error;
}

function advice(error: ApiError): string {
  switch (error.code) {
    case 'GATEWAY_ENROLLMENT_INVALID':
      return 'the cloud refused the code: it is wrong, used or expired (codes last 10 minutes). Create a new one in the workspace and run link again';
    case 'RATE_LIMITED':
      return `the cloud is throttling enrollments from this address: ${error.message}`;
    default:
      return error.message;
  }
}
