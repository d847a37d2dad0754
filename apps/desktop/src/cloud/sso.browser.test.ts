import { chromiumMissing, launchChromium } from '@multiclaw/test-support/browser';
import type { TestIdp } from '@multiclaw/test-support/oidc-idp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestCloud } from '../../../gateway/test/support/cloud.js';
import { openEvents, startTestDesktop, type TestDesktop } from '../../test/support/desktop.js';
import { signInAtIdp, startCloudWithIdp } from '../../test/support/sso-cloud.js';

/**
 * Single sign-on through the system browser, for real: the host's opener is
 * Chromium (playwright-core), the provider is oidc-provider with a sign-in
 * page the browser fills in, the cloud is the real one. The host learns of
 * the completed sign-in from its one-shot loopback listener and tells the UI.
 */
const skip = chromiumMissing('sso.browser.test.ts');
let idp: TestIdp;
let cloud: TestCloud;
let browser: Awaited<ReturnType<typeof launchChromium>>;
const desktops: TestDesktop[] = [];
const opened: Promise<void>[] = [];

beforeAll(async () => {
  if (skip) return;
  ({ idp, cloud } = await startCloudWithIdp());
  browser = await launchChromium();
}, 120_000);
afterAll(async () => {
  await Promise.allSettled(opened);
  for (const started of desktops) await started.close();
  await browser?.close();
  await cloud?.drop();
  await idp?.close();
}, 60_000);

/** The "system browser": a Chromium page that signs in as `email` on the provider's page. */
function chromiumOpener(email: string) {
  return (url: string) => {
    opened.push(signInAtIdp(browser, url, email));
    return true;
  };
}

describe.skipIf(skip)('single sign-on from the desktop', () => {
  it('signs in through the browser and the loopback redirect; the UI hears account.changed', async () => {
    const email = `sso-${Date.now()}@example.com`;
    idp.accounts.set(email, { email, email_verified: true, name: 'Sso Person' });
    const t = await startTestDesktop({ gateway: false, desktop: { openBrowser: chromiumOpener(email) } });
    desktops.push(t);
    await t.call('settings.update', { cloudUrl: cloud.url });
    const events = await openEvents(t.desktop);

    const started = await t.call('account.sso.start', { provider: 'testidp' });
    expect(started.status, JSON.stringify(started.body)).toBe(200);
    const { url, opened: wasOpened } = started.body as { url: string; opened: boolean };
    expect(wasOpened).toBe(true);
    expect(url.startsWith(`${cloud.url}/v1/auth/oidc/testidp/start?`)).toBe(true);
    const query = new URL(url).searchParams;
    expect(query.get('code_challenge_method')).toBe('S256');
    expect(query.get('redirect_uri')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/oidc\/callback$/);

    const changed = await events.next('account.changed', (event) => event.payload.reason === 'signed-in');
    expect(changed.payload.account).toMatchObject({ state: 'signed-in', user: { email } });
    expect((await t.call('account.status')).body).toMatchObject({ state: 'signed-in', user: { email } });
    expect((await t.call('workspaces.list')).status).toBe(200);
    expect(JSON.stringify(events.events)).not.toMatch(/accessToken|refreshToken/);
    events.close();
  }, 120_000);

  it('refuses a provider the cloud does not offer, before opening anything', async () => {
    const opened: string[] = [];
    const t = await startTestDesktop({
      gateway: false,
      desktop: { openBrowser: (url) => Boolean(opened.push(url)) },
    });
    desktops.push(t);
    await t.call('settings.update', { cloudUrl: cloud.url });
    const refused = await t.call('account.sso.start', { provider: 'nosuchidp' });
    expect(refused.status).toBe(404);
    expect((refused.body as { error: { message: string } }).error.message).toMatch(/It offers: Test IdP/);
    expect(opened).toEqual([]);
  });

  it('the loopback listener refuses a redirect without its state, and a forged code with it', async () => {
    const opened: string[] = [];
    const t = await startTestDesktop({
      gateway: false,
      desktop: { openBrowser: (url) => Boolean(opened.push(url)) },
    });
    desktops.push(t);
    await t.call('settings.update', { cloudUrl: cloud.url });
    const events = await openEvents(t.desktop);
    const started = await t.call('account.sso.start', { provider: 'testidp' });
    expect(started.body).toMatchObject({ opened: true });
    const query = new URL(opened[0] ?? '').searchParams;
    const redirect = query.get('redirect_uri') ?? '';
    const state = query.get('state') ?? '';

    const foreign = await fetch(`${redirect}?code=${'a'.repeat(32)}&state=someone-else`);
    expect(foreign.status).toBe(400);
    expect(await foreign.text()).toMatch(/not started by this app/);
    const forged = await fetch(`${redirect}?code=${'a'.repeat(32)}&state=${encodeURIComponent(state)}`);
    expect(forged.status).toBe(400);
    const failed = await events.next('account.changed', (event) => event.payload.reason === 'sso-failed');
    expect(failed.payload.account.state).toBe('signed-out');
    expect((await t.call('account.status')).body).toMatchObject({ state: 'signed-out' });
    // One shot: the listener is gone.
    await expect(fetch(`${redirect}?code=x&state=${encodeURIComponent(state)}`)).rejects.toThrow();
    events.close();
  });

  it('a refused sign-in at the provider says so on the event stream and signs nobody in', async () => {
    const t = await startTestDesktop({
      gateway: false,
      desktop: { openBrowser: chromiumOpener('stranger@example.com') },
    });
    desktops.push(t);
    await t.call('settings.update', { cloudUrl: cloud.url });
    const events = await openEvents(t.desktop);
    expect((await t.call('account.sso.start', { provider: 'testidp' })).status).toBe(200);
    const failed = await events.next('account.changed', (event) => event.payload.reason === 'sso-failed');
    expect(failed.payload.message).toBeTruthy();
    expect((await t.call('account.status')).body).toMatchObject({ state: 'signed-out' });
    events.close();
  }, 120_000);
});
