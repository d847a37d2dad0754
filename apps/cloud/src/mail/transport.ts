import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { writePrivateFileAtomic } from '@multiclaw/runtime/atomic-write';
import nodemailer from 'nodemailer';
import type { Logger } from 'pino';

/** Where mail goes: an SMTP server, or (outside production, with no SMTP_URL) files in an outbox directory. */
export type MailTransportConfig =
  | Readonly<{ kind: 'smtp'; url: string; requireTls: boolean }>
  | Readonly<{ kind: 'outbox'; directory: string }>;

/** What the product mails, by name: logs say which kind, never the content. */
export type MailKind = 'email_verification' | 'password_reset' | 'invitation';

export type MailMessage = Readonly<{ kind: MailKind; to: string; subject: string; text: string }>;

export type MailTransport = {
  deliver(message: MailMessage): Promise<void>;
  close(): void;
};

/**
 * The two ways a message leaves the cloud. Both log one line per message that
 * names its kind and where it went (the SMTP message id, or the outbox file),
 * and never its body or recipient: the body carries a single-use token.
 */
export function createMailTransport(
  config: MailTransportConfig,
  from: string,
  logger: Logger,
): MailTransport {
  const envelopeOf = (message: MailMessage) => ({
    from,
    to: message.to,
    subject: message.subject,
    text: message.text,
  });
  if (config.kind === 'smtp') {
    const smtp = nodemailer.createTransport({ url: config.url, requireTLS: config.requireTls });
    return {
      async deliver(message) {
        const info = await smtp.sendMail(envelopeOf(message));
        logger.info({ mail: message.kind, messageId: info.messageId }, 'mail sent');
      },
      close: () => smtp.close(),
    };
  }

  // The outbox keeps each message as the exact RFC 5322 text an SMTP server
  // would have received, so a developer reads it with any mail client.
  const composer = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  return {
    async deliver(message) {
      const info = await composer.sendMail(envelopeOf(message));
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      const file = join(config.directory, `${stamp}-${message.kind}-${randomBytes(4).toString('hex')}.eml`);
      await writePrivateFileAtomic(file, (info.message as Buffer).toString('utf8'));
      logger.info(
        { mail: message.kind, file },
        'no SMTP_URL is configured: mail written to the outbox file instead of being sent',
      );
    },
    close: () => composer.close(),
  };
}
