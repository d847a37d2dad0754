import { Id, RealtimeEvent } from '@multiclaw/protocol';
import { z } from 'zod';
import type { BusMessage } from './event-bus.js';

/**
 * The wire form of a BusMessage: JSON, parsed on arrival like any input (a
 * NOTIFY on the channel or a NATS publish on the subject could come from
 * anything that reaches the database or the NATS server).
 */
export const BusMessageSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('realtime'), event: RealtimeEvent }),
  z.strictObject({ type: z.literal('gateway.revoked'), gatewayId: Id, workspaceId: Id }),
  z.strictObject({ type: z.literal('session.ended'), sessionId: Id, userId: Id }),
  z.strictObject({ type: z.literal('membership.ended'), workspaceId: Id, userId: Id }),
  z.strictObject({ type: z.literal('agents.changed'), workspaceId: Id }),
]) satisfies z.ZodType<BusMessage>;

/**
 * PostgreSQL refuses a NOTIFY payload of 8000 bytes or more; every bus keeps
 * under it so a message that works in one works in all. Messages carry ids,
 * never content, so a real one is a few hundred bytes.
 */
export const MAX_BUS_MESSAGE_BYTES = 7900;

export function encodeBusMessage(message: BusMessage): string {
  const text = JSON.stringify(BusMessageSchema.parse(message));
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_BUS_MESSAGE_BYTES) {
    throw new Error(`bus message "${message.type}" is ${bytes} bytes; the limit is ${MAX_BUS_MESSAGE_BYTES}`);
  }
  return text;
}

/** Undefined for anything that is not a well-formed message. */
export function decodeBusMessage(text: string): BusMessage | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = BusMessageSchema.safeParse(json);
  return parsed.success ? (parsed.data as BusMessage) : undefined;
}
