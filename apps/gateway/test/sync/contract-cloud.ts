/**
 * The cloud end of `sync.batch` as DESIGN.md §7 states it, in memory, for the
 * outbox's unit tests (the end-to-end test runs the real cloud): every batch
 * is parsed with the protocol's schema, applied idempotently (a message is
 * stored once per conversation and seq), and answered with the highest
 * contiguous seq per conversation; a deleted conversation answers `deleted`
 * and takes nothing. The test drives the link's events and can lose an ack.
 */
import { SYNC_BATCH_MAX_CONTENT_BYTES, type SyncAck, SyncBatch, type SyncMessage } from '@multiclaw/protocol';
import { type CloudLinkEvents, type LinkStatus, LinkUnavailableError } from '../../src/link/cloud-link.js';
import type { SyncLink } from '../../src/sync/sync-service.js';

export interface CloudConversation {
  agentId: string;
  agentSource: 'workspace' | 'local';
  title: string | undefined;
  messages: Map<number, SyncMessage>;
}

type Listener = (detail: never) => void;

export class ContractCloud implements SyncLink {
  readonly conversations = new Map<string, CloudConversation>();
  readonly deleted = new Set<string>();
  /** Conversation ids the cloud refuses, with the code it gives. */
  readonly refuse = new Map<string, string>();
  /** Every batch received, as sent. */
  readonly batches: SyncBatch[] = [];
  /** Messages received again that were already stored (resends). */
  duplicatesReceived = 0;
  private state: LinkStatus = { state: 'not linked' };
  private readonly listeners = new Map<string, Set<Listener>>();
  /** The next `n` batches are applied but their ack is lost (the link drops before it arrives). */
  loseAcks = 0;
  /** While set, requests wait for it: lets a test act while a batch is in flight. */
  gate: Promise<void> | undefined;
  /** Answer a batch even when the link went down while it was in flight (an ack racing an unlink). */
  answerWhenDown = false;

  status(): LinkStatus {
    return this.state;
  }

  on<E extends keyof CloudLinkEvents>(event: E, listener: (detail: CloudLinkEvents[E]) => void): () => void {
    const set = this.listeners.get(event) ?? new Set();
    set.add(listener as Listener);
    this.listeners.set(event, set);
    return () => set.delete(listener as Listener);
  }

  async request(type: 'sync.batch', payload: SyncBatch): Promise<SyncAck> {
    if (type !== 'sync.batch') throw new Error(`unexpected request ${type}`);
    if (this.state.state !== 'online') throw new LinkUnavailableError('the link is not online');
    const batch = SyncBatch.parse(payload);
    this.batches.push(structuredClone(batch));
    await this.gate;
    const ack = this.apply(batch);
    if (this.state.state !== 'online' && !this.answerWhenDown)
      throw new LinkUnavailableError('the link went down before the ack');
    if (this.loseAcks > 0) {
      this.loseAcks--;
      this.offline();
      throw new LinkUnavailableError('the link went down before the ack');
    }
    return ack;
  }

  online(workspaceId: string, gatewayId = '00000000-0000-4000-8000-000000000001'): void {
    this.state = { state: 'online', workspaceId, gatewayId };
    this.emit('online', { gatewayId, workspaceId });
  }

  offline(): void {
    const { gatewayId = '', workspaceId = '' } = this.state;
    this.state = { ...this.state, state: 'offline' };
    this.emit('offline', { gatewayId, workspaceId, reason: 'test' });
  }

  unlink(reason: 'unlinked' | 'revoked' = 'unlinked'): void {
    const { gatewayId = '', workspaceId = '' } = this.state;
    this.state = { state: 'not linked' };
    this.emit('unlinked', { gatewayId, workspaceId, reason });
  }

  /** Every message the cloud holds of a conversation, in seq order. */
  messagesOf(conversationId: string): SyncMessage[] {
    const conversation = this.conversations.get(conversationId);
    return conversation ? [...conversation.messages.values()].sort((a, b) => a.seq - b.seq) : [];
  }

  /** How many messages the cloud received in all batches (resends included). */
  get messagesReceived(): number {
    return this.batches.reduce(
      (sum, batch) => sum + batch.conversations.reduce((count, c) => count + c.messages.length, 0),
      0,
    );
  }

  private apply(batch: SyncBatch): SyncAck {
    const contentBytes = batch.conversations.reduce(
      (sum, c) => sum + c.messages.reduce((bytes, m) => bytes + Buffer.byteLength(m.content), 0),
      0,
    );
    if (contentBytes > SYNC_BATCH_MAX_CONTENT_BYTES * 1.01)
      throw new Error(`batch content of ${contentBytes} bytes is over the limit`);
    return {
      acks: batch.conversations.map((incoming) => {
        const { conversationId } = incoming;
        if (this.deleted.has(conversationId))
          return { conversationId, ackedSeq: 0, state: 'deleted' as const };
        const code = this.refuse.get(conversationId);
        if (code) return { conversationId, ackedSeq: 0, state: 'refused' as const, code };
        let conversation = this.conversations.get(conversationId);
        if (!conversation) {
          conversation = {
            agentId: incoming.agentId,
            agentSource: incoming.agentSource,
            title: incoming.title,
            messages: new Map(),
          };
          this.conversations.set(conversationId, conversation);
        }
        for (const message of incoming.messages) {
          if (conversation.messages.has(message.seq)) this.duplicatesReceived++;
          else conversation.messages.set(message.seq, message);
        }
        let ackedSeq = 0;
        while (conversation.messages.has(ackedSeq + 1)) ackedSeq++;
        return { conversationId, ackedSeq, state: 'stored' as const };
      }),
    };
  }

  private emit(event: string, detail: unknown): void {
    for (const listener of this.listeners.get(event) ?? []) (listener as (detail: unknown) => void)(detail);
  }
}
