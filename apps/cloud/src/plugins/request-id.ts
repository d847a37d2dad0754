import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/**
 * Every response names its request id in `x-request-id`, the id its log lines
 * carry. The id is always the server's own (server-options.ts): a
 * client-chosen one could forge log lines.
 */
export const requestIdPlugin = fp(
  async (app: FastifyInstance) => {
    app.addHook('onRequest', async (request, reply) => {
      reply.header('x-request-id', request.id);
    });
  },
  { name: 'request-id' },
);
