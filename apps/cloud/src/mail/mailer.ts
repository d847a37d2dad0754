import type { Logger } from 'pino';
import {
  createMailTransport,
  type MailKind,
  type MailMessage,
  type MailTransportConfig,
} from './transport.js';

export type Mailer = {
  /**
   * Delivers in the background: the request that asked for the mail does not
   * wait for the SMTP server, so its answer and timing never depend on
   * whether a message was sent (password reset relies on this). A failed
   * delivery is logged, without the message.
   */
  send(message: MailMessage): void;
  /**
   * Like `send`, but the message is prepared in the background too (a token
   * issued, an audit entry written): the caller returns at once, having done
   * the same work whether or not a mail goes out. `compose` may decide on
   * null: nothing is sent.
   */
  sendComposed(kind: MailKind, compose: () => Promise<MailMessage | null>): void;
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

  function track(job: Promise<void>): void {
    pending.add(job);
    void job.finally(() => pending.delete(job));
  }

  async function deliver(message: MailMessage): Promise<void> {
    try {
      await transport.deliver(message);
    } catch (error) {
      const { code, responseCode } = (error ?? {}) as { code?: unknown; responseCode?: unknown };
      // The error's own text may quote the message; its codes are enough to act on.
      deps.logger.error(
        { mail: message.kind, errorCode: code, responseCode },
        'could not send mail: check SMTP_URL and that the SMTP server accepts our MAIL_FROM',
      );
    }
  }

  return {
    send(message) {
      track(deliver(message));
    },
    sendComposed(kind, compose) {
      track(
        compose().then(
          (message) => (message ? deliver(message) : undefined),
          (error: unknown) => {
            // Only the error's class: a database error's text can quote the address.
            deps.logger.error(
              { mail: kind, errorName: error instanceof Error ? error.name : typeof error },
              'could not prepare mail; nothing was sent',
            );
          },
        ),
      );
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
