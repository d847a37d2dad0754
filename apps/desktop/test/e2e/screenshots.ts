/**
 * Regenerates docs/screenshots/*.png: the main screens of the desktop window
 * as a person fills them in, against a real gateway and a local fake provider.
 * `pnpm --filter @multiclaw/desktop screenshots` (needs Chromium, as the browser tests do).
 */
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { startUiWorld } from './ui-harness.js';

const OUT = fileURLToPath(new URL('../../../../docs/screenshots/', import.meta.url));
const WAIT = { timeout: 60_000 };

async function shot(page: Page, name: string) {
  await page.waitForTimeout(300);
  await page.screenshot({ path: `${OUT}desktop-${name}.png` });
  console.log(`docs/screenshots/desktop-${name}.png`);
}

async function main() {
  await mkdir(OUT, { recursive: true });
  const world = await startUiWorld({ apiKey: 'sk-screenshot-key' });
  try {
    const page = await world.browser.newPage({ viewport: { width: 1100, height: 720 } });
    const go = async (name: string) => {
      await page.getByRole('tab', { name }).click();
      await page.getByRole('heading', { level: 2, name }).waitFor();
    };
    await page.goto(world.t.desktop.windowUrl('main'));
    await page.getByText('Gateway running', { exact: true }).waitFor(WAIT);
    await shot(page, 'status');

    await go('Providers');
    await page.getByRole('button', { name: 'Add a provider' }).click();
    await page.getByLabel('Provider name').fill('openai');
    await page.getByLabel('Address (base URL)').fill(world.provider.baseUrl);
    await page.getByLabel('API key').fill('sk-screenshot-key');
    await page.getByRole('button', { name: 'Save provider' }).click();
    await page.getByText('Provider "openai" added with its key.').waitFor(WAIT);

    await go('Agents');
    await page.getByRole('button', { name: 'New agent' }).click();
    await page.getByLabel('Name').fill('Research helper');
    await page.getByLabel('Model').fill('gpt-4o-mini');
    await page.getByLabel('Instructions (system prompt, optional)').fill('Answer briefly, with sources.');
    await shot(page, 'agent-form');
    await page.getByRole('button', { name: 'Create agent' }).click();
    await page.getByText('Agent "Research helper" created.').waitFor(WAIT);
    await shot(page, 'agents');

    await go('Providers');
    await shot(page, 'providers');

    await go('Chat');
    world.replies.quick = [
      'Here is a short plan:\n\n',
      '1. **Collect** the notes\n',
      '2. Summarise them in `notes.md`\n',
      '3. Review with the team',
    ];
    await page.getByRole('textbox', { name: 'Message' }).fill('How should I organise my meeting notes?');
    await page.keyboard.press('Enter');
    await page.getByText('Review with the team').waitFor(WAIT);
    await page.getByRole('textbox', { name: 'Message' }).fill('Thanks!');
    await shot(page, 'chat');

    await go('History');
    await page.getByRole('list', { name: 'Conversations' }).waitFor(WAIT);
    await shot(page, 'history');

    await go('Recordings');
    await page.getByRole('button', { name: 'Get a pairing code' }).click();
    await page.locator('strong.code').waitFor(WAIT);
    await shot(page, 'recordings');

    await go('Team');
    await page.getByLabel('Cloud address').fill('https://cloud.example.com');
    await shot(page, 'team');

    await go('Settings');
    await page.getByText('Crash logs', { exact: true }).waitFor(WAIT);
    await shot(page, 'settings');
  } finally {
    await world.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
