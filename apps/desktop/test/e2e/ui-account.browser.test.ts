import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { chromiumMissing } from '@multiclaw/test-support/browser';
import { jsonExchanger } from '@multiclaw/test-support/json-http';
import type { TestIdp } from '@multiclaw/test-support/oidc-idp';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  codeIn,
  type ReceivedMail,
  type SmtpPeer,
  startSmtpPeer,
} from '../../../cloud/test/support/smtp-peer.js';
import type { TestCloud } from '../../../gateway/test/support/cloud.js';
import { signInAtIdp, startCloudWithIdp } from '../support/sso-cloud.js';
import { registerPerson, signInHost } from './team-harness.js';
import { axeViolations, startUiWorld } from './ui-harness.js';

/**
 * The account from the UI, against a real cloud (real PostgreSQL), a real
 * SMTP server for the mailed codes and a real OpenID provider, in real
 * Chromium: sign-up and verification, forgot and reset, change password,
 * sessions, export, deletion with re-authentication, and single sign-on
 * through the "system browser" (a Chromium page the host's opener drives).
 */
const skip = chromiumMissing('ui-account.browser.test.ts');
const WAIT = { timeout: 30_000 };
let smtp: SmtpPeer;
let idp: TestIdp;
let cloud: TestCloud;
let world: Awaited<ReturnType<typeof startUiWorld>>;
/** What the host's browser opener does now: nothing (the UI shows the address), or a sign-in at the provider. */
let opener: (url: string) => boolean = () => false;
const opened: Promise<void>[] = [];

beforeAll(async () => {
  if (skip) return;
  smtp = await startSmtpPeer();
  ({ idp, cloud } = await startCloudWithIdp({
    SMTP_URL: smtp.url,
    MAIL_FROM: 'MultiClaw <no-reply@example.com>',
  }));
  world = await startUiWorld({
    apiKey: 'sk-unused',
    gateway: false,
    desktop: { openBrowser: (url) => opener(url) },
  });
}, 180_000);
afterAll(async () => {
  if (skip) return;
  await Promise.allSettled(opened);
  await world?.close();
  await cloud?.drop();
  await idp?.close();
  await smtp?.close();
}, 60_000);

beforeEach(async () => {
  if (skip) return;
  opener = () => false;
  expect((await world.t.call('settings.update', { cloudUrl: cloud.url })).status).toBe(200);
  expect((await world.t.call('account.signOut')).status).toBe(200);
});

/** The next mail to `email` whose subject matches (earlier ones, such as the sign-up's, are skipped). */
async function mailTo(email: string, subject: RegExp): Promise<ReceivedMail> {
  for (;;) {
    const mail = await smtp.next(email);
    if (subject.test(mail.subject)) return mail;
  }
}

const api = jsonExchanger(() => cloud.url);

const login = async (email: string, password: string, clientName = 'Phone') =>
  api('POST', '/v1/auth/login', undefined, { email, password, clientName });

async function openSection(name: 'Team' | 'Account'): Promise<Page> {
  const page = await world.browser.newPage();
  await page.goto(world.t.desktop.windowUrl('main'));
  await page.getByRole('tab', { name }).click();
  return page;
}

async function noViolations(page: Page) {
  expect(await axeViolations(page)).toEqual([]);
}

describe.skipIf(skip)('the account from the desktop UI', () => {
  it('signs up from the Team screen, then verifies the address on the Account screen with the mailed code', async () => {
    const page = await openSection('Account');
    await page.getByText('You are not signed in to a MultiClaw Cloud.').waitFor(WAIT);
    await noViolations(page);

    await page.getByRole('tab', { name: 'Team' }).click();
    await page.getByRole('button', { name: 'Sign in with Test IdP' }).waitFor(WAIT);
    await noViolations(page);
    await page.getByRole('button', { name: 'Create an account' }).click();
    const email = `ui-signup-${randomBytes(4).toString('hex')}@example.com`;
    const password = `sign up passphrase 7 ${randomBytes(3).toString('hex')}`;
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password', { exact: true }).fill(password);
    await page.getByLabel('Your name (optional)').fill('Uma Interface');
    await noViolations(page);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByText(`Signed in as ${email} at ${cloud.url}.`).waitFor(WAIT);
    const mail = await mailTo(email, /Confirm your email/);

    await page.getByRole('tab', { name: 'Account' }).click();
    await page.getByText('Not verified yet').waitFor(WAIT);
    await page.getByText('Uma Interface').waitFor(WAIT);
    await noViolations(page);
    await page.getByLabel('Verification code').fill('not-the-code');
    await page.getByRole('button', { name: 'Verify email' }).click();
    await page
      .getByRole('alert')
      .filter({ hasText: /not valid/ })
      .waitFor(WAIT);
    // The code was mailed a moment ago: another is refused, in words.
    await page.getByRole('button', { name: 'Send a new code' }).click();
    await page
      .getByRole('alert')
      .filter({ hasText: /mailed recently.*Wait \d+ seconds/ })
      .waitFor(WAIT);
    await noViolations(page);

    await page.getByLabel('Verification code').fill(codeIn(mail));
    await page.getByRole('button', { name: 'Verify email' }).click();
    await page.getByText('Your email address is verified.').waitFor(WAIT);
    await page
      .getByRole('definition')
      .filter({ hasText: /^Verified$/ })
      .waitFor(WAIT);
    expect(await page.getByLabel('Verification code').count()).toBe(0);
    await noViolations(page);
    expect((await world.t.call('account.status')).body).toMatchObject({
      user: { email, emailVerified: true },
    });
    await page.close();
  }, 300_000);

  it('forgot password: the mailed code and a new password, then sign in with it', async () => {
    const person = await registerPerson(cloud, 'ui-forgot');
    const page = await openSection('Team');
    await page.getByRole('button', { name: 'Forgot your password?' }).click();
    await page.getByLabel('Email').fill(person.email);
    await page.getByRole('button', { name: 'Mail me a reset code' }).click();
    await page.getByText(`If an account exists for ${person.email}, a code was mailed to it.`).waitFor(WAIT);
    await noViolations(page);
    const code = codeIn(await mailTo(person.email, /Reset your MultiClaw password/));

    const fresh = `reset passphrase 7 ${randomBytes(3).toString('hex')}`;
    await page.getByLabel('Reset code').fill('not-the-code');
    await page.getByLabel('New password', { exact: true }).fill(fresh);
    await page.getByRole('button', { name: 'Set the new password' }).click();
    await page
      .getByRole('alert')
      .filter({ hasText: /not valid/ })
      .waitFor(WAIT);
    await noViolations(page);
    await page.getByLabel('Reset code').fill(code);
    await page.getByRole('button', { name: 'Set the new password' }).click();
    await page.getByText(/Your password was changed, and every session/).waitFor(WAIT);
    await noViolations(page);
    // Every session ended, the one registerPerson made included.
    expect((await api('GET', '/v1/me', person.token)).status).toBe(401);

    await page.getByLabel('Email').fill(person.email);
    await page.getByLabel('Password').fill(person.password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('alert').filter({ hasText: /wrong/ }).waitFor(WAIT);
    await page.getByLabel('Password').fill(fresh);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByText(`Signed in as ${person.email} at ${cloud.url}.`).waitFor(WAIT);
    await page.close();
  }, 300_000);

  it('the Account screen: sign out everywhere else, change password, export, delete with the password', async () => {
    const person = await registerPerson(cloud, 'ui-account');
    await signInHost(world, cloud, person);
    const phone = await login(person.email, person.password);
    const phoneToken = (phone.body as { accessToken: string }).accessToken;

    const page = await openSection('Account');
    const sessions = page.getByRole('list', { name: 'Sessions' });
    await sessions.getByText('MultiClaw desktop (this computer)').waitFor(WAIT);
    await sessions.getByText('Phone').waitFor(WAIT);
    expect(await sessions.getByRole('listitem').count()).toBe(3);
    // This computer's own session has no sign-out button here: that is the Team screen's "Sign out".
    expect(await sessions.getByRole('button').count()).toBe(2);
    await noViolations(page);
    // One session signed out from its card: that one only.
    await sessions.getByRole('button', { name: /^Sign out Phone, signed in / }).click();
    await page.getByText('Phone is signed out.').waitFor(WAIT);
    expect(await sessions.getByRole('listitem').count()).toBe(2);
    expect((await api('GET', '/v1/me', phoneToken)).status).toBe(401);
    expect((await api('GET', '/v1/me', person.token)).status).toBe(200);
    await page.getByRole('button', { name: 'Sign out everywhere else' }).click();
    await page.getByText('Signed out of 1 other session. This computer stays signed in.').waitFor(WAIT);
    expect(await sessions.getByRole('listitem').count()).toBe(1);
    expect((await api('GET', '/v1/me', person.token)).status).toBe(401);
    expect((await world.t.call('account.profile')).status).toBe(200);

    // Change password: a wrong current one first.
    const next = `changed passphrase 7 ${randomBytes(3).toString('hex')}`;
    await page.getByLabel('Current password').fill('not my password');
    await page.getByLabel('New password', { exact: true }).fill(next);
    await page.getByLabel('New password again').fill(next);
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByRole('alert').filter({ hasText: 'The current password is wrong' }).waitFor(WAIT);
    await noViolations(page);
    await page.getByLabel('Current password').fill(person.password);
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByText(/^Password changed\./).waitFor(WAIT);
    expect((await login(person.email, person.password)).status).toBe(401);
    expect((await login(person.email, next)).status).toBe(200);

    // Export: the host saves the file and the page says where.
    await page.getByRole('button', { name: 'Export my data' }).click();
    const saved = page.getByRole('status').filter({ hasText: /^Saved as / });
    await saved.waitFor(WAIT);
    const path = (await saved.locator('code').textContent()) ?? '';
    expect(dirname(path)).toBe(join(world.t.desktop.paths.stateDir, 'exports'));
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const exported = JSON.parse(await readFile(path, 'utf8')) as { user: { email: string } };
    expect(exported.user.email).toBe(person.email);
    await noViolations(page);

    // Delete: the wrong password is refused in words and nothing is deleted.
    await page.getByLabel('Your password, to confirm it is you').fill('not my password');
    await page.getByRole('button', { name: 'Delete my account…' }).click();
    const dialog = page.getByRole('alertdialog', { name: 'Delete your account?' });
    await dialog.waitFor(WAIT);
    await noViolations(page);
    await dialog.getByRole('button', { name: 'Delete my account for good' }).click();
    await page
      .getByRole('alert')
      .filter({ hasText: /password is wrong.*Nothing was deleted/ })
      .waitFor(WAIT);
    await noViolations(page);
    expect((await login(person.email, next)).status).toBe(200);

    await page.getByLabel('Your password, to confirm it is you').fill(next);
    await page.getByRole('button', { name: 'Delete my account…' }).click();
    await dialog.getByRole('button', { name: 'Delete my account for good' }).click();
    await page.getByText('You are not signed in to a MultiClaw Cloud.').waitFor(WAIT);
    await page.getByRole('alert').filter({ hasText: 'Your account was deleted' }).waitFor(WAIT);
    await noViolations(page);
    expect((await login(person.email, next)).status).toBe(401);
    expect((await world.t.call('account.status')).body).toMatchObject({ state: 'signed-out' });
    await page.close();
  }, 300_000);

  it('a session revoked on another device: the Account screen says the session ended and shows the signed-out state', async () => {
    const person = await registerPerson(cloud, 'ui-revoked');
    await signInHost(world, cloud, person);
    const page = await openSection('Account');
    const sessions = page.getByRole('list', { name: 'Sessions' });
    await sessions.getByText('MultiClaw desktop (this computer)').waitFor(WAIT);
    const listed = await api('GET', '/v1/auth/sessions', person.token);
    const desktopSession = (listed.body as { items: { id: string; clientName: string | null }[] }).items.find(
      (item) => item.clientName === 'MultiClaw desktop',
    );
    expect((await api('DELETE', `/v1/auth/sessions/${desktopSession?.id}`, person.token)).status).toBe(204);

    // The cloud closes the host's real-time socket at once; the host finds the session over and says so.
    await page
      .getByRole('alert')
      .filter({ hasText: /The cloud session has ended/ })
      .waitFor(WAIT);
    await page.getByText('You are not signed in to a MultiClaw Cloud.').waitFor(WAIT);
    await noViolations(page);
    expect((await world.t.call('account.status')).body).toMatchObject({ state: 'signed-out' });
    await page.close();
  }, 300_000);

  it('single sign-on through the system browser, by the address shown when none opens, a refusal in words; the account then deletes itself without a password', async () => {
    const email = `ui-sso-${randomBytes(4).toString('hex')}@example.com`;
    idp.accounts.set(email, { email, email_verified: true, name: 'Sso Person' });
    /** The "system browser": a Chromium context that signs in on the provider's page. */
    const signInAtProvider = (url: string) => signInAtIdp(world.browser, url, email);
    opener = (url) => {
      opened.push(signInAtProvider(url));
      return true;
    };

    const page = await openSection('Team');
    await page.getByRole('button', { name: 'Sign in with Test IdP' }).click();
    await page.getByText(/Your browser was opened to sign in with Test IdP/).waitFor(WAIT);
    expect(await page.getByLabel('Sign-in address').inputValue()).toMatch(
      new RegExp(`^${cloud.url}/v1/auth/oidc/testidp/start\\?`),
    );
    await page.getByText(`Signed in as ${email} at ${cloud.url}.`).waitFor(WAIT);
    await noViolations(page);

    // No browser could be opened: the page shows the address, and the person opens it by hand.
    await page.getByRole('button', { name: 'Sign out' }).click();
    opener = () => false;
    await page.getByRole('button', { name: 'Sign in with Test IdP' }).click();
    await page.getByText(/Open this address in your browser to sign in with Test IdP/).waitFor(WAIT);
    await noViolations(page);
    await signInAtProvider(await page.getByLabel('Sign-in address').inputValue());
    await page.getByText(`Signed in as ${email} at ${cloud.url}.`).waitFor(WAIT);

    // A refused sign-in at the provider is said on the page.
    await page.getByRole('button', { name: 'Sign out' }).click();
    const stranger = `ui-sso-stranger-${randomBytes(3).toString('hex')}@example.com`;
    opener = (url) => {
      opened.push(
        (async () => {
          const context = await world.browser.newContext();
          const provider = await context.newPage();
          await provider.goto(url);
          await provider.getByLabel('Email').fill(stranger);
          await provider.getByRole('button', { name: 'Sign in' }).click();
          await provider.getByRole('heading', { name: /did not complete/ }).waitFor(WAIT);
          await context.close();
        })(),
      );
      return true;
    };
    await page.getByRole('button', { name: 'Sign in with Test IdP' }).click();
    await page.getByRole('alert').first().waitFor(WAIT);
    expect((await world.t.call('account.status')).body).toMatchObject({ state: 'signed-out' });
    await noViolations(page);

    // An account made by single sign-on has no password: it deletes itself by a sign-in minutes ago.
    opener = (url) => {
      opened.push(signInAtProvider(url));
      return true;
    };
    await page.getByRole('button', { name: 'Sign in with Test IdP' }).click();
    await page.getByText(`Signed in as ${email} at ${cloud.url}.`).waitFor(WAIT);
    await page.getByRole('tab', { name: 'Account' }).click();
    await page.getByText('Sso Person').waitFor(WAIT);
    await page.getByRole('button', { name: 'Delete my account…' }).click();
    await page
      .getByRole('alertdialog', { name: 'Delete your account?' })
      .getByRole('button', { name: 'Delete my account for good' })
      .click();
    await page.getByText('You are not signed in to a MultiClaw Cloud.').waitFor(WAIT);
    await page.getByRole('alert').filter({ hasText: 'Your account was deleted' }).waitFor(WAIT);
    await noViolations(page);
    await page.close();
  }, 300_000);
});
