import { ApiError, EnrollGatewayResponse, ErrorEnvelope, type GatewayName } from '@multiclaw/protocol';
import type { Egress } from '../egress/egress.js';
import { parseCloudUrl } from './cloud-url.js';
import {
  generateDeviceKey,
  type IdentityPaths,
  type LinkStateFile,
  readLinkState,
  saveIdentity,
} from './identity.js';

/** This gateway already has a link: unlink first (one workspace per gateway). */
export class AlreadyLinkedError extends Error {
  constructor(readonly state: LinkStateFile) {
    super(
      `this gateway is already linked to workspace ${state.workspaceId} at ${state.cloudUrl} (gateway ${state.gatewayId})${state.revokedAt ? ', which revoked it' : ''}; run "multiclaw-gateway unlink" first`,
    );
    this.name = 'AlreadyLinkedError';
  }
}

/** The cloud could not be reached, or answered with something that is not MultiClaw's. */
export class CloudUnreachableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CloudUnreachableError';
  }
}

/**
 * `link`: refuses an insecure cloud URL and an existing link, makes a key
 * pair in memory, enrolls its public half with the one-time code, and only
 * then writes the key and the link state. A refused or failed enrollment
 * leaves nothing on disk.
 */
export async function enrollGateway(options: {
  identity: IdentityPaths;
  cloud: string;
  code: string;
  name?: GatewayName | undefined;
  /** Egress allowed to reach `origin` (the CLI makes one for exactly the cloud). */
  egressFor: (origin: string) => Egress;
  now?: () => Date;
}): Promise<LinkStateFile> {
  const cloudUrl = parseCloudUrl(options.cloud);
  const existing = await readLinkState(options.identity);
  if (existing) throw new AlreadyLinkedError(existing);
  const { privateKey, rawPublicKey } = generateDeviceKey();
  const egress = options.egressFor(new URL(cloudUrl).origin);
  let response: Response;
  try {
    response = await egress.fetch(`${cloudUrl}/v1/gateways/enroll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({
        code: options.code,
        publicKey: rawPublicKey,
        ...(options.name ? { name: options.name } : {}),
      }),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw new CloudUnreachableError(`could not reach ${cloudUrl}: ${causeOf(error)}`);
  }
  const body: unknown = await response.json().catch(() => undefined);
  if (response.status !== 201) {
    const envelope = ErrorEnvelope.safeParse(body);
    if (envelope.success) {
      const { code, message } = envelope.data.error;
      throw new ApiError(code, message);
    }
    throw new CloudUnreachableError(
      `${cloudUrl} answered HTTP ${response.status}, not a MultiClaw Cloud enrollment`,
    );
  }
  const enrolled = EnrollGatewayResponse.safeParse(body);
  if (!enrolled.success)
    throw new CloudUnreachableError(`${cloudUrl} answered the enrollment with an unexpected body`);
  const state: LinkStateFile = {
    version: 1,
    cloudUrl,
    gatewayId: enrolled.data.gatewayId,
    workspaceId: enrolled.data.workspaceId,
    ...(options.name ? { name: options.name } : {}),
    linkedAt: (options.now?.() ?? new Date()).toISOString(),
  };
  await saveIdentity(options.identity, privateKey, state);
  return state;
}

function causeOf(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}
