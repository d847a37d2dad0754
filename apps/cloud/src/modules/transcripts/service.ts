import { type ConversationsDeps, createConversations } from './conversations.js';
import { createSyncApply, type SyncApplyDeps } from './sync-apply.js';

export type TranscriptServiceDeps = SyncApplyDeps & ConversationsDeps;

/**
 * Synced transcripts (DESIGN.md §7): `applyBatch` for the gateway link, and
 * what the transcripts API reads and deletes. Content is stored encrypted with
 * the workspace's data key (the vault's envelope).
 */
export function createTranscriptService(deps: TranscriptServiceDeps) {
  return { applyBatch: createSyncApply(deps), ...createConversations(deps) };
}

export type TranscriptService = ReturnType<typeof createTranscriptService>;
