import { readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { chromiumMissing } from '@multiclaw/test-support/browser';
import { publicKeyBase64 } from '@multiclaw/updater';
import { generateSecretKey, type MinisignSecretKey } from '@multiclaw/updater/signing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type GatewayUpdateFeed, startGatewayUpdateFeed } from '../../../gateway/test/support/update-feed.js';
import { axeViolations, startUiWorld } from './ui-harness.js';

/**
 * The update notice as a person sees it: nothing is checked until they ask;
 * an available signed release is shown with its own Install button; a release
 * signed by another key is refused in words and nothing is installed.
 */
const skip = chromiumMissing('ui-updates.browser.test.ts');
const releaseKey = generateSecretKey();
let feed: GatewayUpdateFeed;
let world: Awaited<ReturnType<typeof startUiWorld>>;
const publish = (version: string, key: MinisignSecretKey = releaseKey) => feed.publish(version, key);

beforeAll(async () => {
  if (skip) return;
  feed = await startGatewayUpdateFeed();
  world = await startUiWorld({
    apiKey: 'sk-unused',
    configure: (config) => ({
      ...config,
      update: {
        feed: feed.url,
        channel: 'stable',
        publicKeys: [publicKeyBase64(releaseKey.publicKey)],
      },
    }),
  });
}, 180_000);
afterAll(async () => {
  if (skip) return;
  await world.close();
  await feed.close();
});

it.skipIf(skip)(
  'checks only when asked, shows an available release, installs it on the click, and refuses a foreign signature in words',
  async () => {
    const page = await world.browser.newPage();
    await page.goto(world.t.desktop.windowUrl('main'));
    const checkButton = page.getByRole('button', { name: 'Check for updates' });
    await checkButton.waitFor({ timeout: 60_000 });
    expect(feed.requests).toEqual([]);

    publish('9.1.0', generateSecretKey());
    await checkButton.click();
    await page
      .getByRole('alert')
      .filter({ hasText: 'The signature was made by a key other than the pinned ones.' })
      .waitFor({ timeout: 60_000 });
    expect(await page.getByRole('button', { name: /^Install/ }).count()).toBe(0);

    publish('9.1.0');
    await checkButton.click();
    await page.getByText('Gateway 9.1.0 is available on “stable”.').waitFor({ timeout: 60_000 });
    expect(await axeViolations(page)).toEqual([]);
    await page.getByRole('button', { name: 'Install 9.1.0' }).click();
    await page
      .getByText(/^Installed 9\.1\.0 \(was .+\)\. Restart the gateway to use it\.$/)
      .waitFor({ timeout: 120_000 });
    expect(await readlink(join(world.t.openclawDir, 'versions', 'current'))).toBe('9.1.0');
    await page.close();
  },
  300_000,
);
