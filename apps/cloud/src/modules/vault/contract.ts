import { ApiError } from '@multiclaw/protocol';

/**
 * The contract between the vault's envelope encryption (crypto side) and its
 * API (secrets side). Both sides are built against these types.
 */

/** Where a ciphertext lives: bound into the AAD, so a copy elsewhere fails to decrypt. */
export type SecretPlace = { workspaceId: string; secretId: string };

/** Where a transcript message's content lives: bound into its AAD the same way. */
export type MessagePlace = { workspaceId: string; conversationId: string; messageId: string };

/**
 * What is stored for one message's content (columns of `messages`). The
 * format version is FORMAT_VERSION, the master key version is the data key's
 * own: a message records only the data key version.
 */
export type SealedMessage = {
  ciphertext: Uint8Array<ArrayBuffer>;
  nonce: Uint8Array<ArrayBuffer>;
  dataKeyVersion: number;
};

/**
 * Seals up to the number of messages it was acquired for, with one data key
 * whose uses were counted up front in one statement. `release` zeroes the key.
 */
export type MessageSealer = {
  seal(place: MessagePlace, content: string): SealedMessage;
  release(): void;
};

/** A `workspace_data_keys` row as the keyring unwraps it. */
export type WrappedDataKey = {
  workspaceId: string;
  version: number;
  wrappedKey: Uint8Array;
  nonce: Uint8Array;
  masterKeyVersion: number;
};

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
  seal(
    db: VaultDb | import('../../db/client.js').Sql,
    place: SecretPlace,
    plaintext: string,
  ): Promise<SealedValue>;
  /**
   * Decrypts; throws VaultIntegrityError on any mismatch (moved, edited, wrong key).
   * `dataKey`: the wrapped data key row of `sealed.dataKeyVersion`, when the
   * caller read it with the value (else it is read here).
   */
  open(db: VaultDb, place: SecretPlace, sealed: SealedValue, dataKey?: WrappedDataKey): Promise<string>;
  /**
   * A sealer for `count` messages of the workspace, counting all their uses of
   * the data key in one statement. Acquire it outside the transaction that
   * stores the messages, so the data key's row is not locked for its length.
   */
  messageSealer(db: VaultDb, workspaceId: string, count: number): Promise<MessageSealer>;
  /** Decrypts messages of one workspace, in order, looking each data key version up once. */
  openMessages(
    db: VaultDb,
    workspaceId: string,
    messages: ReadonlyArray<SealedMessage & { conversationId: string; id: string }>,
  ): Promise<string[]>;
};

/**
 * A stored value (a secret or a message's content) failed authentication. The
 * client gets VAULT_INTEGRITY_FAILED and nothing else; the error-level log
 * line (the error plugin logs every 5xx with its fields) names the reason and
 * the place (workspace and secret, or workspace, conversation and message),
 * never a value. docs/operations.md says what an operator does next.
 */
export class VaultIntegrityError extends ApiError {
  readonly reason: string;
  place: SecretPlace | MessagePlace | undefined;

  constructor(reason: string, place?: SecretPlace | MessagePlace) {
    super('VAULT_INTEGRITY_FAILED', 'A stored value failed its integrity check; nothing was revealed');
    this.name = 'VaultIntegrityError';
    this.reason = `vault integrity check failed: ${reason}`;
    this.place = place;
  }
}
