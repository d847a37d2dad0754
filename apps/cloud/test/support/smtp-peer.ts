import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/** A message as a person reads it: who it is for, its subject, and its decoded text. */
export type ReceivedMail = { from: string; to: string[]; subject: string; text: string; raw: string };

/** Undoes quoted-printable (RFC 2045 §6.7): soft line breaks and `=XX` escapes. */
function decodeQuotedPrintable(text: string): string {
  const bytes = text
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/gi, (_match, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
  return Buffer.from(bytes, 'latin1').toString('utf8');
}

/** Unfolds and decodes RFC 2047 encoded words (`=?UTF-8?Q?…?=` / `=?UTF-8?B?…?=`) in a header value. */
function decodeHeader(value: string): string {
  return value.replace(/=\?utf-8\?([QB])\?([^?]*)\?=\s*/gi, (_m, kind: string, data: string) =>
    kind.toUpperCase() === 'B'
      ? Buffer.from(data, 'base64').toString('utf8')
      : decodeQuotedPrintable(data.replace(/_/g, ' ')),
  );
}

export function parseMail(raw: string, envelope: { from: string; to: string[] }): ReceivedMail {
  const split = raw.search(/\r?\n\r?\n/);
  const headerText = raw.slice(0, split).replace(/\r?\n[ \t]+/g, ' ');
  const body = raw.slice(split).replace(/^\r?\n\r?\n/, '');
  const headers = new Map<string, string>();
  for (const line of headerText.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
  const encoding = headers.get('content-transfer-encoding')?.toLowerCase();
  const text =
    encoding === 'quoted-printable'
      ? decodeQuotedPrintable(body)
      : encoding === 'base64'
        ? Buffer.from(body, 'base64').toString('utf8')
        : body;
  return {
    ...envelope,
    subject: decodeHeader(headers.get('subject') ?? ''),
    text: text.replace(/\r\n/g, '\n'),
    raw,
  };
}

/** The single-use code a mail carries, from its `Code: …` line, as a person would copy it. */
export function codeIn(mail: ReceivedMail): string {
  const match = /^Code: (\S+)$/m.exec(mail.text);
  if (!match?.[1]) throw new Error(`no code in the mail "${mail.subject}":\n${mail.text}`);
  return match[1];
}

/**
 * A real SMTP server (the `smtp-server` package) on 127.0.0.1 that keeps what
 * it receives. `next(to)` resolves with the next message for that address,
 * whether it arrived already or arrives later; no polling, no sleeps.
 */
export async function startSmtpPeer() {
  const inbox: ReceivedMail[] = [];
  const waiting: Array<{ to: string; resolve: (mail: ReceivedMail) => void }> = [];

  function deliver(mail: ReceivedMail): void {
    const index = waiting.findIndex((w) => mail.to.includes(w.to));
    const waiter = index >= 0 ? waiting.splice(index, 1)[0] : undefined;
    if (waiter) waiter.resolve(mail);
    else inbox.push(mail);
  }

  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const envelope = {
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
        };
        deliver(parseMail(Buffer.concat(chunks).toString('utf8'), envelope));
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.server.address() as AddressInfo;

  return {
    url: `smtp://127.0.0.1:${port}`,
    /** Messages received and not yet taken by `next`. */
    inbox,
    next(to: string): Promise<ReceivedMail> {
      const index = inbox.findIndex((mail) => mail.to.includes(to));
      if (index >= 0) return Promise.resolve(inbox.splice(index, 1)[0] as ReceivedMail);
      return new Promise((resolve) => waiting.push({ to, resolve }));
    },
    /** Messages received for `to` so far, taken out of the inbox. */
    take(to: string): ReceivedMail[] {
      const taken = inbox.filter((mail) => mail.to.includes(to));
      inbox.splice(0, inbox.length, ...inbox.filter((mail) => !mail.to.includes(to)));
      return taken;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export type SmtpPeer = Awaited<ReturnType<typeof startSmtpPeer>>;
