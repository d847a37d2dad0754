import type { TranscriptMessage } from '@multiclaw/protocol';
import type { VaultCrypto, VaultDb } from '../vault/contract.js';

/**
 * Reading stored messages back: the columns to select and their decryption
 * (the vault's envelope, AAD = workspace, conversation, message). The API and
 * the personal data export both read through here.
 */

export const storedMessageSelect = {
  id: true,
  conversationId: true,
  seq: true,
  role: true,
  ciphertext: true,
  nonce: true,
  dataKeyVersion: true,
  status: true,
  createdAt: true,
} as const;

export type StoredMessage = {
  id: string;
  conversationId: string;
  seq: number;
  role: TranscriptMessage['role'];
  ciphertext: Uint8Array<ArrayBuffer>;
  nonce: Uint8Array<ArrayBuffer>;
  dataKeyVersion: number;
  status: string | null;
  createdAt: Date;
};

/** Decrypts messages of one workspace into their wire shape, in the order given. */
export async function decryptMessages(
  crypto: Pick<VaultCrypto, 'openMessages'>,
  db: VaultDb,
  workspaceId: string,
  rows: readonly StoredMessage[],
): Promise<TranscriptMessage[]> {
  const contents = await crypto.openMessages(db, workspaceId, rows);
  return rows.map((row, index) => ({
    id: row.id,
    seq: row.seq,
    role: row.role,
    content: contents[index] ?? '',
    createdAt: row.createdAt.toISOString(),
    ...(row.status === null ? {} : { status: row.status }),
  }));
}
