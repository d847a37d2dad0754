import { type StoredMessage, SYNC_BATCH_MAX_CONTENT_BYTES, type SyncMessage } from '@multiclaw/protocol';

/**
 * A stored message as it syncs. The store holds finished messages only (a
 * streaming reply lives in `partial/` until it ends), so every stored message
 * is eligible; what stays local is the key it was written under, its run id and
 * a failed run's error details.
 */
export function toSyncMessage(stored: StoredMessage): SyncMessage {
  const message: SyncMessage = {
    id: stored.id,
    seq: stored.seq,
    role: stored.role,
    content: stored.content,
    createdAt: stored.createdAt,
  };
  if (stored.status) message.status = stored.status;
  return message;
}

/**
 * What a text costs against a batch's byte budget: its length as JSON on the
 * wire (UTF-8, escapes included), so a full batch stays under the link's frame
 * limit whatever the text holds.
 */
export function wireBytes(text: string): number {
  return Buffer.byteLength(JSON.stringify(text), 'utf8');
}

/**
 * A message whose content alone would not fit in a batch is sent cut to fit,
 * with a note saying so; the whole message stays on the gateway. (A frame
 * has a hard limit, and a message cannot be skipped: sequence numbers must
 * arrive without gaps.)
 */
export function fitContent(message: SyncMessage, maxBytes = SYNC_BATCH_MAX_CONTENT_BYTES): SyncMessage {
  if (wireBytes(message.content) <= maxBytes) return message;
  const note = `\n\n[cut for sync: this message has ${message.content.length} characters; the whole message stays on the gateway]`;
  const budget = maxBytes - wireBytes(note);
  // The longest prefix that fits: binary search on characters, never splitting a surrogate pair.
  let low = 0;
  let high = Math.min(message.content.length, budget);
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if (wireBytes(message.content.slice(0, middle)) <= budget) low = middle;
    else high = middle - 1;
  }
  let end = low;
  const last = message.content.charCodeAt(end - 1);
  if (end > 0 && last >= 0xd800 && last <= 0xdbff) end -= 1;
  return { ...message, content: message.content.slice(0, end) + note };
}
