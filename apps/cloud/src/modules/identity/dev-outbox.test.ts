import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestApp } from '../../../test/support/app.js';
import { codeIn, parseMail } from '../../../test/support/smtp-peer.js';

/** Development without SMTP: the whole app writes its mail to the outbox, and the log points there. */

const stateDir = mkdtempSync(join(tmpdir(), 'mc-dev-outbox-'));
let ctx: Awaited<ReturnType<typeof createTestApp>>;

beforeAll(async () => {
  ctx = await createTestApp({ env: { NODE_ENV: 'development', MULTICLAW_CLOUD_STATE_DIR: stateDir } });
});
afterAll(async () => {
  await ctx?.close();
});

it('registration writes the verification mail to a 0600 outbox file the log names, and no code reaches the log', async () => {
  const email = 'dev-person@example.com';
  const registered = await ctx.app.inject({
    method: 'POST',
    url: '/v1/auth/register',
    payload: { email, password: 'correct horse battery staple 7' },
  });
  expect(registered.statusCode).toBe(201);
  await ctx.app.mailer.idle();

  const outbox = join(stateDir, 'outbox');
  expect(statSync(outbox).mode & 0o777).toBe(0o700);
  const [name] = readdirSync(outbox);
  const file = join(outbox, name as string);
  expect(statSync(file).mode & 0o777).toBe(0o600);
  expect(ctx.logs.lines).toContainEqual(expect.objectContaining({ mail: 'email_verification', file }));

  const mail = parseMail(readFileSync(file, 'utf8'), { from: '', to: [email] });
  const code = codeIn(mail);
  const verified = await ctx.app.inject({
    method: 'POST',
    url: '/v1/auth/email/verify',
    payload: { token: code },
  });
  expect(verified.statusCode).toBe(200);
  expect(verified.json().user.emailVerified).toBe(true);
  // Not in the mail log line, not in the request logs of the verify call.
  expect(ctx.logs.raw.join('')).not.toContain(code);
});
