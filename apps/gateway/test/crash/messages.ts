import { randomUUID } from 'node:crypto';
import type { MessageDraft } from '../../src/store/message-log.js';

/**
 * The content of message `seq` in the kill tests, so the parent can check every
 * message it reads back byte for byte. Every fourth message spans several pages
 * (16 KiB), so a kill can land in the middle of its write.
 */
export function contentFor(seq: number): string {
  const head = `message ${seq}:`;
  return seq % 4 === 0 ? head + String(seq % 10).repeat(16 * 1024) : `${head} hello`;
}

export function draftFor(seq: number, now = new Date()): MessageDraft {
  return {
    id: randomUUID(),
    role: seq % 2 ? 'user' : 'assistant',
    content: contentFor(seq),
    createdAt: now.toISOString(),
  };
}
