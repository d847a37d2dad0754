import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Mailer } from '../mail/mailer.js';

/** The one mailer, as `app.mailer`; deliveries still in flight finish before the server goes away. */
export const mailerPlugin = fp<{ mailer: Mailer }>(
  async (app: FastifyInstance, { mailer }) => {
    app.decorate('mailer', mailer);
    app.addHook('onClose', () => mailer.close());
  },
  { name: 'mailer' },
);
