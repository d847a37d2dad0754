import type { SyncBatch, SyncMessage } from '@multiclaw/protocol';

/**
 * A sync batch as the cloud applies it: one entry per conversation (a batch
 * naming one twice is merged), each message once (by id, and by sequence
 * within its conversation), in sequence order. Pure: no database.
 */

/** The largest sequence a message can be stored with (an int4 column). */
export const MAX_SEQ = 2 ** 31 - 1;

export type PlannedConversation = {
  externalId: string;
  agentId: string;
  agentSource: 'workspace' | 'local';
  /** The last title the batch gave, if any. */
  title: string | undefined;
  messages: SyncMessage[];
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A workspace agent's id is its cloud id, a UUID: one spelling, lower case. */
export function normalisedAgentId(source: 'workspace' | 'local', agentId: string): string {
  return source === 'workspace' && UUID.test(agentId) ? agentId.toLowerCase() : agentId;
}

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

export function planBatch(batch: SyncBatch): PlannedConversation[] {
  const byConversation = new Map<string, PlannedConversation>();
  const seenIds = new Set<string>();
  for (const entry of batch.conversations) {
    let planned = byConversation.get(entry.conversationId);
    if (!planned) {
      planned = {
        externalId: entry.conversationId,
        agentId: normalisedAgentId(entry.agentSource, entry.agentId),
        agentSource: entry.agentSource,
        title: undefined,
        messages: [],
      };
      byConversation.set(entry.conversationId, planned);
    }
    if (entry.title !== undefined) planned.title = entry.title;
    const seenSeqs = new Set(planned.messages.map((message) => message.seq));
    for (const message of entry.messages) {
      const id = message.id.toLowerCase();
      // A duplicate id or sequence is the same message sent twice: the first copy counts.
      if (seenIds.has(id) || seenSeqs.has(message.seq) || message.seq > MAX_SEQ) continue;
      seenIds.add(id);
      seenSeqs.add(message.seq);
      planned.messages.push({ ...message, id });
    }
  }
  for (const planned of byConversation.values()) planned.messages.sort((a, b) => a.seq - b.seq);
  return [...byConversation.values()];
}
