import type { Config } from '../../config.js';
import {
  type MessagePlace,
  type MessageSealer,
  type SealedValue,
  type SecretPlace,
  type VaultCrypto,
  type VaultDb,
  VaultIntegrityError,
  type WrappedDataKey,
} from './contract.js';
import {
  decrypt,
  encrypt,
  encryptWithNonce,
  FORMAT_VERSION,
  messageAad,
  messageAadEncoder,
  nonceSource,
  secretAad,
  toBytes,
} from './envelope.js';
import { createKeyring, type KeyringOptions } from './keyring.js';

export type VaultCryptoDeps = { masterKeys: Config['masterKeys']; now: () => Date };
export type VaultCryptoOptions = Pick<KeyringOptions, 'usageLimit' | 'cacheSize' | 'cacheTtlMs'>;

/**
 * The vault's envelope encryption (DESIGN.md §5): each value is sealed with
 * its workspace's current data key, the AAD binding it to its place and to the
 * key versions recorded next to it. Secrets and transcript messages (§7) share
 * it: the same keys, primitives and key-use counting, each with its own AAD.
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

    async open(db, place, sealed: SealedValue, dataKey?: WrappedDataKey) {
      try {
        return await openAt(db, place, sealed, dataKey);
      } catch (error) {
        if (error instanceof VaultIntegrityError) error.place ??= place;
        throw error;
      }
    },

    messageSealer,
    openMessages,
  };

  async function messageSealer(db: VaultDb, workspaceId: string, count: number): Promise<MessageSealer> {
    const dataKey = await keyring.acquireForSeal(db, workspaceId, count);
    let left = count;
    const keys = { formatVersion: FORMAT_VERSION, dataKeyVersion: dataKey.version };
    // What every seal of the batch shares, prepared once (bench/sync: per message
    // these were a CSPRNG call, an AAD of many small buffers, and two copies).
    const aadOf = messageAadEncoder(workspaceId, keys);
    const nextNonce = nonceSource(count);
    return {
      seal(place: MessagePlace, content: string) {
        if (place.workspaceId !== workspaceId) throw new Error('vault: a sealer seals for its own workspace');
        // Each seal was counted against the key's limit: no more than that many.
        if (left <= 0) throw new Error(`vault: this sealer was acquired for ${count} messages`);
        left--;
        const nonce = nextNonce();
        const aad = aadOf(place.conversationId, place.messageId);
        const ciphertext = encryptWithNonce(dataKey.key, nonce, Buffer.from(content, 'utf8'), aad);
        return { ciphertext, nonce, dataKeyVersion: dataKey.version };
      },
      release() {
        left = 0;
        dataKey.key.fill(0);
      },
    };
  }

  async function openMessages(
    db: VaultDb,
    workspaceId: string,
    messages: Parameters<VaultCrypto['openMessages']>[2],
  ): Promise<string[]> {
    const keys = new Map<number, Buffer>();
    try {
      const texts: string[] = [];
      for (const message of messages) {
        const place = { workspaceId, conversationId: message.conversationId, messageId: message.id };
        let key = keys.get(message.dataKeyVersion);
        if (!key) {
          try {
            key = (await keyring.keyFor(db, workspaceId, message.dataKeyVersion)).key;
          } catch (error) {
            if (error instanceof VaultIntegrityError) error.place ??= place;
            throw error;
          }
          keys.set(message.dataKeyVersion, key);
        }
        const aad = messageAad(place, {
          formatVersion: FORMAT_VERSION,
          dataKeyVersion: message.dataKeyVersion,
        });
        let plaintext: Buffer;
        try {
          plaintext = decrypt(key, message.ciphertext, message.nonce, aad, 'message content');
        } catch (error) {
          if (error instanceof VaultIntegrityError) error.place ??= place;
          throw error;
        }
        texts.push(plaintext.toString('utf8'));
        plaintext.fill(0);
      }
      return texts;
    } finally {
      for (const key of keys.values()) key.fill(0);
    }
  }

  async function openAt(
    db: VaultDb,
    place: SecretPlace,
    sealed: SealedValue,
    row: WrappedDataKey | undefined,
  ): Promise<string> {
    if (sealed.formatVersion !== FORMAT_VERSION) {
      throw new VaultIntegrityError(`unknown format version ${sealed.formatVersion}`);
    }
    // A row given by the caller must be the one keyFor would read; its AAD binds
    // workspace and version, so another row would fail to unwrap anyway.
    if (row && (row.workspaceId !== place.workspaceId || Number(row.version) !== sealed.dataKeyVersion)) {
      throw new VaultIntegrityError(`data key version ${sealed.dataKeyVersion}: the row given is another`);
    }
    const dataKey = row
      ? keyring.keyFromRow(row)
      : await keyring.keyFor(db, place.workspaceId, sealed.dataKeyVersion);
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
