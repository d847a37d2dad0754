import { randomUUID } from 'node:crypto';
import { ApiError, type CloudToGateway, ErrorEnvelope, type GatewayToCloud } from '@multiclaw/protocol';
import type { z } from 'zod';
import { LinkUnavailableError } from './cloud-link.js';
import type { LinkTimers } from './link-timers.js';

/** Which reply ends each request the gateway sends. */
export const REPLY_OF = {
  'auth.refresh': 'auth.ok',
  'sync.batch': 'sync.ack',
  'secrets.fetch': 'secrets.value',
} as const;
export type RequestType = keyof typeof REPLY_OF;
export type RequestPayload<T extends RequestType> = z.infer<(typeof GatewayToCloud)[T]>;
export type ReplyOf<T extends RequestType> = z.infer<(typeof CloudToGateway)[(typeof REPLY_OF)[T]]>;

/** A request the cloud does not answer within this long fails (the socket is probably dead). */
export const REQUEST_TIMEOUT_MS = 60_000;

interface Pending {
  reply: keyof typeof CloudToGateway;
  resolve(payload: unknown): void;
  reject(error: Error): void;
  timer: unknown;
}

/**
 * The link's requests waiting for their reply, matched by envelope id: the
 * expected reply resolves one, the cloud's `link.error` rejects it (as an
 * ApiError when its code is one we know), silence past REQUEST_TIMEOUT_MS or a
 * dropped connection rejects it with LinkUnavailableError.
 */
export class PendingRequests {
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly timers: Pick<LinkTimers, 'setTimeout' | 'clearTimeout'>) {}

  /** Registers a request; `send` gets its id and puts it on the wire. */
  open<T extends RequestType>(type: T, send: (id: string) => void): Promise<ReplyOf<T>> {
    const id = randomUUID();
    return new Promise((resolve, reject) => {
      const timer = this.timers.setTimeout(() => {
        this.pending.delete(id);
        reject(
          new LinkUnavailableError(`the cloud did not answer ${type} within ${REQUEST_TIMEOUT_MS / 1000} s`),
        );
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(id, {
        reply: REPLY_OF[type],
        resolve: resolve as (payload: unknown) => void,
        reject,
        timer,
      });
      send(id);
    });
  }

  /** Settles the request this frame answers; false when it answers none (a reply after its timeout). */
  settle(message: { type: string; id?: string | undefined; payload: unknown }): boolean {
    const pending = message.id === undefined ? undefined : this.pending.get(message.id);
    if (!pending || message.id === undefined) return false;
    this.pending.delete(message.id);
    this.timers.clearTimeout(pending.timer);
    if (message.type === pending.reply) {
      pending.resolve(message.payload);
      return true;
    }
    const error = message.payload as { code?: string; message?: string };
    const code = ErrorEnvelope.shape.error.shape.code.safeParse(error.code);
    pending.reject(
      code.success
        ? new ApiError(code.data, error.message ?? code.data)
        : new LinkUnavailableError(
            `the cloud answered ${message.type}: ${error.message ?? 'unexpected reply'}`,
          ),
    );
    return true;
  }

  /** The connection went down: every request waiting on it fails. */
  failAll(reason: string): void {
    for (const pending of this.pending.values()) {
      this.timers.clearTimeout(pending.timer);
      pending.reject(new LinkUnavailableError(`the cloud link went down: ${reason}`));
    }
    this.pending.clear();
  }
}
