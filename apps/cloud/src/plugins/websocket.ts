import websocket from '@fastify/websocket';
import { MAX_WS_FRAME_BYTES } from '@multiclaw/protocol';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/**
 * WebSocket upgrades for the cloud's two sockets (`/v1/realtime`,
 * `/v1/gateway-link`), routed through Fastify so their requests pass the same
 * hooks (request id, security headers, rate limits) as any other. A frame
 * over MAX_WS_FRAME_BYTES closes the socket (1009) before it is parsed.
 */
export const websocketPlugin = fp(
  async (app: FastifyInstance) => {
    await app.register(websocket, { options: { maxPayload: MAX_WS_FRAME_BYTES } });
  },
  { name: 'websocket' },
);
