import type { Transaction } from '../../db/client.js';

/** Advisory-lock namespace of a person's transcripts in a workspace (two-int form, like the audit chain's). */
export const TRANSCRIPT_LOCK_NAMESPACE = 0x7472736e; // 'trsn'

/**
 * Serialises, per person and workspace (what names a synced conversation,
 * whichever of their gateways sends it), applying a batch and deleting a
 * conversation: a delete's tombstone is then either committed before a batch
 * looks for it, or the batch's rows are committed before the delete removes
 * them. Without it a late resend racing a delete could recreate the
 * conversation.
 */
export async function lockPersonTranscripts(
  tx: Transaction,
  workspaceId: string,
  ownerUserId: string,
): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(${TRANSCRIPT_LOCK_NAMESPACE}::int4, hashtext(${`${workspaceId}/${ownerUserId}`}))`;
}
