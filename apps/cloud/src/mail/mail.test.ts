import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@multiclaw/runtime/logger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LogCapture } from '../../test/support/app.js';
import { codeIn, parseMail, type SmtpPeer, startSmtpPeer } from '../../test/support/smtp-peer.js';
import { createMailer } from './mailer.js';
import { emailVerificationMail } from './messages.js';

const FROM = 'MultiClaw <no-reply@example.com>';

function verificationFor(to: string) {
  const token = randomBytes(32).toString('base64url');
  return {
    token,
    message: emailVerificationMail({ to, token, publicUrl: 'https://cloud.example.com', ttlHours: 24 }),
  };
}

describe('mail over SMTP', () => {
  let smtp: SmtpPeer;
  beforeAll(async () => {
    smtp = await startSmtpPeer();
  });
  afterAll(async () => {
    await smtp?.close();
  });

  it('delivers to a real SMTP server; the log names the kind, never the code or the recipient', async () => {
    const logs = new LogCapture();
    const mailer = createMailer({
      transport: { kind: 'smtp', url: smtp.url, requireTls: false },
      from: FROM,
      logger: createLogger({ level: 'info', destination: logs }),
    });
    const { token, message } = verificationFor('ada@example.com');
    mailer.send(message);
    const mail = await smtp.next('ada@example.com');
    expect(mail.from).toBe('no-reply@example.com');
    expect(codeIn(mail)).toBe(token);
    expect(mail.text).toContain('https://cloud.example.com/v1/auth/email/verify');
    await mailer.close();
    expect(logs.lines).toContainEqual(
      expect.objectContaining({ mail: 'email_verification', msg: 'mail sent' }),
    );
    expect(logs.raw.join('')).not.toContain(token);
    expect(logs.raw.join('')).not.toContain('ada@example.com');
  });

  it('logs a failed delivery as an error without the message, and keeps serving', async () => {
    const logs = new LogCapture();
    // A port nothing listens on: the peer's, after it closed.
    const closed = await startSmtpPeer();
    await closed.close();
    const mailer = createMailer({
      transport: { kind: 'smtp', url: closed.url, requireTls: false },
      from: FROM,
      logger: createLogger({ level: 'info', destination: logs }),
    });
    const { token, message } = verificationFor('bob@example.com');
    mailer.send(message);
    await mailer.close();
    const failure = logs.lines.find((line) => line.msg?.toString().startsWith('could not send mail'));
    expect(failure).toMatchObject({ level: 50, mail: 'email_verification', errorCode: 'ESOCKET' });
    expect(logs.raw.join('')).not.toContain(token);
  });
});

describe('mail to the outbox (no SMTP_URL, outside production)', () => {
  it('writes each message to a 0600 file in a 0700 outbox and names the file in the log', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'mc-outbox-'));
    const outbox = join(stateDir, 'outbox');
    const logs = new LogCapture();
    const mailer = createMailer({
      transport: { kind: 'outbox', directory: outbox },
      from: FROM,
      logger: createLogger({ level: 'info', destination: logs }),
    });
    const { token, message } = verificationFor('carol@example.com');
    mailer.send(message);
    await mailer.idle();

    expect(statSync(outbox).mode & 0o777).toBe(0o700);
    const files = readdirSync(outbox);
    expect(files).toHaveLength(1);
    const file = join(outbox, files[0] as string);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const logged = logs.lines.find((line) => line.mail === 'email_verification');
    expect(logged?.file).toBe(file);
    expect(logs.raw.join('')).not.toContain(token);

    // The file is the message an SMTP server would have received.
    const mail = parseMail(readFileSync(file, 'utf8'), { from: '', to: [] });
    expect(mail.subject).toBe('Confirm your email address for MultiClaw');
    expect(codeIn(mail)).toBe(token);
    await mailer.close();
  });
});
