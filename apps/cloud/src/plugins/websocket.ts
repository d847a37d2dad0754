import websocket from '@fastify/websocket';
import { MAX_WS_FRAME_BYTES } from '@multiclaw/protocol';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/**
 * WebSocket upgrades for the cloud's two sockets (`/v1/realtime`,
 * `/v1/gateway-link`), routed through Fastify so their requests pass the same
 * hooks (request id, security headers, rate limits) as any other. A frame
 * over MAX_WS_FRAME_BYTES closes the socket (1009) before it is parsed.
 * When the app closes, every socket still open is told why (1001, going
 * away) rather than closed with no status, so its peer reconnects elsewhere.
 */
export const websocketPlugin = fp(
  async (app: FastifyInstance) => {
    await app.register(websocket, {
      options: { maxPayload: MAX_WS_FRAME_BYTES },
      preClose(done) {
        for (const client of this.websocketServer.clients) client.close(1001, 'cloud shutting down');
        this.websocketServer.close();
        done();
      },
    });
  },
  { name: 'websocket' },
);
