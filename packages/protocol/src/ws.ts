import { z } from 'zod';
import { ApiError, issuesOf } from './errors.js';

/**
 * Versioned envelope for the cloud's WebSocket links (`/v1/realtime`,
 * `/v1/gateway-link`). Every frame is `{ v, type, id?, payload }`; the
 * catalog of message types per link is added by the features that own them.
 */
export const WS_PROTOCOL_VERSION = 1;

export const WsEnvelope = z.object({
  v: z.number().int().positive(),
  type: z.string().regex(/^[a-z][a-z0-9]*(\.[a-z][a-z0-9-]*)+$/, 'a dotted lower-case message type'),
  /** Correlates a reply with its request; absent on one-way events. */
  id: z.string().min(1).max(128).optional(),
  payload: z.unknown(),
});
export type WsEnvelope = z.infer<typeof WsEnvelope>;

export type MessageCatalog = Record<string, z.ZodType>;

export type WsMessage<Catalog extends MessageCatalog> = {
  [Type in keyof Catalog & string]: { type: Type; id?: string; payload: z.infer<Catalog[Type]> };
}[keyof Catalog & string];

/** The largest frame any MultiClaw socket accepts, before parsing. */
export const MAX_WS_FRAME_BYTES = 1024 * 1024;

/**
 * Parses one raw frame against a catalog. Throws ApiError with a
 * PROTOCOL_* code for anything that is not a known, well-formed message.
 */
export function parseWsMessage<Catalog extends MessageCatalog>(
  catalog: Catalog,
  raw: string,
): WsMessage<Catalog> {
  if (Buffer.byteLength(raw, 'utf8') > MAX_WS_FRAME_BYTES) {
    throw new ApiError('PROTOCOL_INVALID_FRAME', 'Frame too large');
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new ApiError('PROTOCOL_INVALID_FRAME', 'Frame is not valid JSON');
  }
  const envelope = WsEnvelope.safeParse(json);
  if (!envelope.success) {
    throw new ApiError('PROTOCOL_INVALID_FRAME', 'Frame is not a message envelope');
  }
  const { v, type, id, payload } = envelope.data;
  if (v !== WS_PROTOCOL_VERSION) {
    throw new ApiError(
      'PROTOCOL_UNSUPPORTED_VERSION',
      `Protocol version ${v} is not supported (expected ${WS_PROTOCOL_VERSION})`,
    );
  }
  const schema = Object.hasOwn(catalog, type) ? catalog[type] : undefined;
  if (!schema) {
    throw new ApiError('PROTOCOL_INVALID_FRAME', `Unknown message type "${type}"`);
  }
  const parsed = schema.safeParse(payload);
  if (!parsed.success) {
    throw new ApiError('PROTOCOL_INVALID_FRAME', `Invalid payload for "${type}"`, {
      issues: issuesOf(parsed.error),
    });
  }
  return { type, ...(id === undefined ? {} : { id }), payload: parsed.data } as WsMessage<Catalog>;
}

/**
 * Builds a frame for sending, validating the payload first so a peer never
 * emits a frame its counterpart would refuse.
 */
export function encodeWsMessage<Catalog extends MessageCatalog, Type extends keyof Catalog & string>(
  catalog: Catalog,
  type: Type,
  payload: z.infer<Catalog[Type]>,
  id?: string,
): string {
  const schema = catalog[type];
  if (!schema) throw new Error(`Unknown message type "${type}"`);
  const checked = schema.parse(payload);
  return JSON.stringify({
    v: WS_PROTOCOL_VERSION,
    type,
    ...(id === undefined ? {} : { id }),
    payload: checked,
  });
}
