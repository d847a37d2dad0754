import { startTestIdp, type TestIdp } from '@multiclaw/test-support/oidc-idp';
import { freePort } from '@multiclaw/test-support/ports';
import type { Browser } from 'playwright-core';
import { startTestCloud, type TestCloud } from '../../../gateway/test/support/cloud.js';

/** The provider's name and words as the cloud offers them ("Sign in with Test IdP"). */
export const TEST_IDP = { name: 'testidp', displayName: 'Test IdP' } as const;

/**
 * A real cloud offering single sign-on with a real OpenID provider
 * (oidc-provider): the cloud's port is chosen first, since the provider must
 * know its callback before it starts. `env`: more of the cloud's settings (SMTP…).
 */
export async function startCloudWithIdp(
  env: Record<string, string> = {},
): Promise<{ idp: TestIdp; cloud: TestCloud }> {
  const idp = await startTestIdp();
  const port = await freePort();
  await idp.configure([`http://127.0.0.1:${port}/v1/auth/oidc/${TEST_IDP.name}/callback`]);
  const cloud = await startTestCloud({
    port,
    env: {
      ...env,
      OIDC_PROVIDERS: JSON.stringify([
        {
          ...TEST_IDP,
          issuer: idp.issuer,
          clientId: idp.clientId,
          clientSecret: idp.clientSecret,
          redirectUris: ['http://127.0.0.1/oidc/callback'],
        },
      ]),
    },
  });
  return { idp, cloud };
}

/**
 * What a person does in the "system browser" the host opens: signs in as
 * `email` on the provider's page, in a context of its own, until the cloud's
 * page says how it went. Resolves when that page is closed.
 */
export async function signInAtIdp(browser: Browser, url: string, email: string): Promise<void> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(url);
    await page.getByLabel('Email').fill(email);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: /Signed in|did not complete/ }).waitFor({ timeout: 60_000 });
  } finally {
    await context.close();
  }
}
