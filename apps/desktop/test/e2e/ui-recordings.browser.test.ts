import { randomUUID } from 'node:crypto';
import { chromiumMissing } from '@multiclaw/test-support/browser';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { EXTENSION_ORIGIN, extensionClient } from '../support/extension.js';
import { axeViolations, startUiWorld } from './ui-harness.js';

/**
 * The Recordings screen as a person uses it: a pairing code for the
 * extension (which then pairs and delivers over the gateway's real HTTP
 * routes, as its service worker does), the recording's steps, rename, attach
 * to an agent as a skill, export, delete, and unpair.
 */
const skip = chromiumMissing('ui-recordings.browser.test.ts');
let world: Awaited<ReturnType<typeof startUiWorld>>;

beforeAll(async () => {
  if (skip) return;
  world = await startUiWorld({
    apiKey: 'sk-unused',
    configure: (config) => ({
      ...config,
      models: {
        providers: {
          openai: { api: 'openai-completions', baseUrl: 'http://127.0.0.1:9/v1', allowedAgents: [] },
        },
      },
      agents: { ...config.agents, list: [{ id: 'shopper', name: 'Shopper', model: 'openai/gpt-test' }] },
    }),
  });
}, 180_000);
afterAll(async () => {
  if (skip) return;
  await world.close();
});

it.skipIf(skip)(
  'pairs the extension with a code it shows, then shows, renames, attaches, exports and deletes a recording, and unpairs',
  async () => {
    const extension = extensionClient(`http://127.0.0.1:${world.t.gateway?.port}`);
    const page = await world.browser.newPage();
    await page.goto(world.t.desktop.windowUrl('main'));
    const recordingsTab = page.getByRole('tab', { name: 'Recordings' });
    await recordingsTab.click();
    await page.getByText('No recordings yet.').waitFor({ timeout: 60_000 });
    expect(await axeViolations(page)).toEqual([]);

    await page.getByRole('button', { name: 'Get a pairing code' }).click();
    const code = (await page.locator('strong.code').textContent({ timeout: 30_000 })) ?? '';
    expect(code).toMatch(/^[A-Z0-9-]{6,12}$/);
    const { status, token = '' } = await extension.pair(code);
    expect(status).toBe(200);
    const id = randomUUID();
    const steps = [
      { kind: 'navigation', seq: 1, at: Date.now(), tabId: 1, url: 'http://127.0.0.1/shop', title: 'Shop' },
      {
        kind: 'click',
        seq: 2,
        at: Date.now(),
        tabId: 1,
        url: 'http://127.0.0.1/shop',
        selector: '#buy',
        role: 'button',
        text: 'Buy',
      },
    ];
    const sent = await extension.append(token, id, 'Buy a book', steps);
    expect(sent.status).toBe(200);

    // Another section and back: the screen asks the gateway again.
    await page.getByRole('tab', { name: 'Status' }).click();
    await recordingsTab.click();
    await page.getByText('Buy a book', { exact: true }).waitFor({ timeout: 30_000 });
    expect(
      await page.getByRole('list', { name: 'Paired extensions' }).getByText(EXTENSION_ORIGIN).count(),
    ).toBe(1);

    await page.getByRole('button', { name: 'Show the steps of Buy a book' }).click();
    const shown = page.getByRole('list', { name: 'Steps of Buy a book' });
    await shown.waitFor();
    expect(await shown.getByRole('listitem').allTextContents()).toEqual([
      'Go to http://127.0.0.1/shop',
      'Click “Buy”',
    ]);
    await page.getByRole('button', { name: 'Close the steps' }).click();

    await page.getByRole('button', { name: 'Rename Buy a book' }).click();
    await page.getByLabel('New name').fill('Buy two books');
    await page.getByRole('button', { name: 'Save the name' }).click();
    await page.getByText('Renamed to “Buy two books”.').waitFor();

    await page.getByRole('button', { name: /Skill for an agent/ }).click();
    await page.getByRole('option', { name: 'Shopper' }).click();
    await page.getByRole('button', { name: 'Attach', exact: true }).click();
    await page.getByText('“Buy two books” is now a skill of Shopper.').waitFor();
    expect((await world.t.call('recordings.list')).body).toMatchObject({
      items: [{ id, agentIds: ['shopper'] }],
    });
    expect(await axeViolations(page)).toEqual([]);
    await page.getByRole('button', { name: 'Detach from Shopper: Buy two books' }).click();
    await page.getByText('“Buy two books” is no longer a skill of Shopper.').waitFor();

    await page.getByRole('button', { name: 'Export Buy two books' }).click();
    await page.getByText(/^Saved as .+buy-two-books-[0-9a-f]{8}\.multiclaw-recording\.json\.$/).waitFor();

    await page.getByRole('button', { name: 'Delete Buy two books' }).click();
    await page.getByRole('alertdialog').getByRole('button', { name: 'Delete recording' }).click();
    await page.getByText('No recordings yet.').waitFor();

    await page.getByRole('button', { name: `Unpair ${EXTENSION_ORIGIN}` }).click();
    await page.getByText('No extension is paired.').waitFor();
    const refused = await extension.append(token, id, 'x', steps);
    expect(refused.status).toBe(401);
    await page.close();
  },
  300_000,
);
