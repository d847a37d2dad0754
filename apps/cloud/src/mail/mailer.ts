import type { Logger } from 'pino';
import { createMailTransport, type MailMessage, type MailTransportConfig } from './transport.js';

export type Mailer = {
  /**
   * Delivers in the background: the request that asked for the mail does not
   * wait for the SMTP server, so its answer and timing never depend on
   * whether a message was sent (password reset relies on this). A failed
   * delivery is logged, without the message.
   */
  send(message: MailMessage): void;
  /** Resolves when every delivery started so far has finished (shutdown, tests). */
  idle(): Promise<void>;
  close(): Promise<void>;
};

export function createMailer(deps: { transport: MailTransportConfig; from: string; logger: Logger }): Mailer {
  const transport = createMailTransport(deps.transport, deps.from, deps.logger);
  const pending = new Set<Promise<void>>();

  async function idle(): Promise<void> {
    while (pending.size > 0) await Promise.allSettled([...pending]);
  }

  return {
    send(message) {
      const delivery = transport.deliver(message).catch((error: unknown) => {
        const { code, responseCode } = (error ?? {}) as { code?: unknown; responseCode?: unknown };
        // The error's own text may quote the message; its codes are enough to act on.
        deps.logger.error(
          { mail: message.kind, errorCode: code, responseCode },
          'could not send mail: check SMTP_URL and that the SMTP server accepts our MAIL_FROM',
        );
      });
      pending.add(delivery);
      void delivery.finally(() => pending.delete(delivery));
    },
    idle,
    async close() {
      await idle();
      transport.close();
    },
  };
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The one way the cloud sends mail (app.ts). */
    mailer: Mailer;
  }
}
