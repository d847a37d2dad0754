import { ApiError } from '@multiclaw/protocol';

/**
 * The contract between the vault's envelope encryption (crypto side) and its
 * API (secrets side). Both sides are built against these types.
 */

/** Where a ciphertext lives: bound into the AAD, so a copy elsewhere fails to decrypt. */
export type SecretPlace = { workspaceId: string; secretId: string };

/** What is stored for one encrypted value (columns of `secrets` / `secret_versions`). */
export type SealedValue = {
  /** AES-256-GCM ciphertext followed by the 16-byte tag. */
  ciphertext: Uint8Array<ArrayBuffer>;
  /** 96-bit random nonce, fresh per encryption. */
  nonce: Uint8Array<ArrayBuffer>;
  formatVersion: number;
  dataKeyVersion: number;
  masterKeyVersion: number;
};

/** The columns of a SealedValue, for Prisma `select`. */
export const sealedSelect = {
  ciphertext: true,
  nonce: true,
  formatVersion: true,
  dataKeyVersion: true,
  masterKeyVersion: true,
} as const;

/** Any Prisma client or interactive-transaction client. */
export type VaultDb = Pick<
  import('../../db/client.js').Database,
  'workspaceDataKey' | 'secret' | 'secretVersion' | '$queryRaw' | '$executeRaw'
>;

export type VaultCrypto = {
  /**
   * Encrypts a value for its place with the workspace's current data key,
   * creating the workspace's first data key (wrapped by the newest master key)
   * when it has none, counting the use, and rolling to a new data key version
   * well before the GCM nonce limit. Pass the transaction the row is written in.
   */
  seal(db: VaultDb, place: SecretPlace, plaintext: string): Promise<SealedValue>;
  /** Decrypts; throws VaultIntegrityError on any mismatch (moved, edited, wrong key). */
  open(db: VaultDb, place: SecretPlace, sealed: SealedValue): Promise<string>;
};

/**
 * A stored value failed authentication. The client gets VAULT_INTEGRITY_FAILED
 * and nothing else; the error-level log line (the error plugin logs every
 * 5xx with its fields) names the reason, the workspace and the secret, never
 * a value. docs/operations.md says what an operator does next.
 */
export class VaultIntegrityError extends ApiError {
  readonly reason: string;
  place: SecretPlace | undefined;

  constructor(reason: string, place?: SecretPlace) {
    super('VAULT_INTEGRITY_FAILED', 'A stored secret failed its integrity check; nothing was revealed');
    this.name = 'VaultIntegrityError';
    this.reason = `vault integrity check failed: ${reason}`;
    this.place = place;
  }
}
