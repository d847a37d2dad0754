import type { Config } from '../../config.js';
import {
  type SealedValue,
  type SecretPlace,
  type VaultCrypto,
  type VaultDb,
  VaultIntegrityError,
} from './contract.js';
import { decrypt, encrypt, FORMAT_VERSION, secretAad, toBytes } from './envelope.js';
import { createKeyring, type KeyringOptions } from './keyring.js';

export type VaultCryptoDeps = { masterKeys: Config['masterKeys']; now: () => Date };
export type VaultCryptoOptions = Pick<KeyringOptions, 'usageLimit' | 'cacheSize' | 'cacheTtlMs'>;

/**
 * The vault's envelope encryption (DESIGN.md §5): each value is sealed with
 * its workspace's current data key, the AAD binding it to its place and to the
 * key versions recorded next to it.
 */
export function createVaultCrypto(deps: VaultCryptoDeps, options: VaultCryptoOptions = {}): VaultCrypto {
  const keyring = createKeyring({ ...deps, ...options });

  return {
    async seal(db, place, plaintext) {
      const dataKey = await keyring.acquireForSeal(db, place.workspaceId);
      try {
        const keys = {
          formatVersion: FORMAT_VERSION,
          dataKeyVersion: dataKey.version,
          masterKeyVersion: dataKey.masterKeyVersion,
        };
        const { ciphertext, nonce } = encrypt(
          dataKey.key,
          Buffer.from(plaintext, 'utf8'),
          secretAad(place, keys),
        );
        return { ciphertext: toBytes(ciphertext), nonce: toBytes(nonce), ...keys };
      } finally {
        dataKey.key.fill(0);
      }
    },

    async open(db, place, sealed: SealedValue) {
      try {
        return await openAt(db, place, sealed);
      } catch (error) {
        if (error instanceof VaultIntegrityError) error.place ??= place;
        throw error;
      }
    },
  };

  async function openAt(db: VaultDb, place: SecretPlace, sealed: SealedValue): Promise<string> {
    if (sealed.formatVersion !== FORMAT_VERSION) {
      throw new VaultIntegrityError(`unknown format version ${sealed.formatVersion}`);
    }
    const dataKey = await keyring.keyFor(db, place.workspaceId, sealed.dataKeyVersion);
    try {
      const plaintext = decrypt(
        dataKey.key,
        sealed.ciphertext,
        sealed.nonce,
        secretAad(place, sealed),
        'secret value',
      );
      const text = plaintext.toString('utf8');
      plaintext.fill(0);
      return text;
    } finally {
      dataKey.key.fill(0);
    }
  }
}
