import { ApiError, type ExtensionPairResponse, type PairingCode } from '@multiclaw/protocol';
import type { ConfigFile } from '../config/config-file.js';
import { PairingCodes } from './pairing-codes.js';
import { EXTENSION_SCOPE, type ExtensionPairing, type ExtensionPairings } from './pairings.js';

/**
 * Pairing the browser extension, end to end (docs/extension.md): the desktop
 * or the CLI asks for a code; the popup exchanges it for a token of scope
 * `recordings:write`, and the extension's exact `chrome-extension://<id>`
 * origin joins gateway.allowedOrigins; unpairing revokes the token at once
 * and takes the origin off the list again.
 */
export class ExtensionAccess {
  private readonly codes: PairingCodes;

  constructor(
    private readonly deps: {
      pairings: ExtensionPairings;
      config: ConfigFile;
      codes?: PairingCodes;
      log: { info(obj: object, msg: string): void };
    },
  ) {
    this.codes = deps.codes ?? new PairingCodes();
  }

  issueCode(): PairingCode {
    const code = this.codes.issue();
    this.deps.log.info({ expiresAt: code.expiresAt }, 'extension pairing code issued');
    return code;
  }

  async exchange(code: string, origin: string): Promise<ExtensionPairResponse> {
    if (!this.codes.redeem(code))
      throw new ApiError(
        'EXTENSION_PAIRING_CODE_INVALID',
        'This pairing code is wrong, used or expired: get a new one (multiclaw-gateway extension pair) and try again',
      );
    const { pairing, token } = await this.deps.pairings.pair(origin);
    await this.deps.config.update((current) => {
      const origins = current.gateway.allowedOrigins;
      if (origins.includes(origin)) return current;
      return { ...current, gateway: { ...current.gateway, allowedOrigins: [...origins, origin] } };
    });
    this.deps.log.info({ pairingId: pairing.id, origin }, 'browser extension paired');
    return { pairingId: pairing.id, token, scope: EXTENSION_SCOPE };
  }

  verify(token: string | undefined): ExtensionPairing | undefined {
    return this.deps.pairings.verify(token);
  }

  list() {
    return this.deps.pairings.list();
  }

  /** Whether `origin` belongs to a paired extension (such an origin may append recordings, nothing else). */
  isExtensionOrigin(origin: string | undefined): boolean {
    return origin !== undefined && this.deps.pairings.hasOrigin(origin);
  }

  async unpair(id: string): Promise<{ ok: true; revoked: boolean }> {
    const revoked = await this.deps.pairings.revoke(id);
    if (!revoked) return { ok: true, revoked: false };
    if (!this.deps.pairings.hasOrigin(revoked.origin))
      await this.deps.config.update((current) => ({
        ...current,
        gateway: {
          ...current.gateway,
          allowedOrigins: current.gateway.allowedOrigins.filter((origin) => origin !== revoked.origin),
        },
      }));
    this.deps.log.info({ pairingId: id, origin: revoked.origin }, 'browser extension unpaired');
    return { ok: true, revoked: true };
  }
}
