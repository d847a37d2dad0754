import { chromiumMissing } from '@multiclaw/test-support/browser';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestCloud, type TestCloud } from '../../../gateway/test/support/cloud.js';
import { axeViolations, startUiWorld } from './ui-harness.js';

/**
 * The Team screen against a real cloud (real PostgreSQL) and a real gateway:
 * a person chooses their cloud, signs in (a wrong password is said in plain
 * words), creates a workspace and links this computer in one click; the
 * gateway goes online in the cloud. The page never holds a token.
 */
const skip = chromiumMissing('ui-team.browser.test.ts');
const PASSWORD = 'team screen passphrase 7';
let cloud: TestCloud;
let world: Awaited<ReturnType<typeof startUiWorld>>;

beforeAll(async () => {
  if (skip) return;
  cloud = await startTestCloud();
  world = await startUiWorld({ apiKey: 'sk-unused' });
}, 180_000);
afterAll(async () => {
  if (skip) return;
  await world?.close();
  await cloud?.drop();
}, 60_000);

it.skipIf(skip)(
  'chooses the cloud, signs in, creates a workspace and links this computer in one click',
  async () => {
    const email = `team-${Date.now()}@example.com`;
    const registered = await fetch(`${cloud.url}/v1/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: PASSWORD }),
    });
    expect(registered.status).toBe(201);

    const page = await world.browser.newPage();
    await page.goto(world.t.desktop.windowUrl('main'));
    await page.getByRole('tab', { name: 'Team' }).click();
    await page.getByLabel('Cloud address').fill(cloud.url);
    await page.getByRole('button', { name: 'Use this cloud' }).click();

    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill('not the password at all');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').waitFor({ timeout: 30_000 });
    expect(await axeViolations(page)).toEqual([]);

    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText(`Signed in as ${email} at ${cloud.url}.`).waitFor({ timeout: 30_000 });
    await page.getByText('No workspace yet.').waitFor({ timeout: 30_000 });

    await page.getByLabel('New workspace name').fill('Laptops');
    await page.getByRole('button', { name: 'Create workspace' }).click();
    await page.getByText('Workspace "Laptops" created; you are its owner.').waitFor({ timeout: 30_000 });
    await page.getByRole('button', { name: 'Link this computer to Laptops' }).click();
    await page.getByText(/^This computer's gateway is linked to Laptops/).waitFor({ timeout: 60_000 });
    expect(await axeViolations(page)).toEqual([]);

    // The gateway is online in the cloud, as the host sees it.
    const workspaces = (await world.t.call('workspaces.list')).body as { items: { id: string }[] };
    const workspaceId = workspaces.items[0]?.id;
    let online = false;
    for (let i = 0; i < 120 && !online; i++) {
      const gateways = (await world.t.call('gateways.list', { workspaceId })).body as {
        items: { online: boolean }[];
      };
      online = gateways.items.some((gateway) => gateway.online);
      if (!online) await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(online).toBe(true);

    // Nothing of the session reached the page.
    const stored = await page.evaluate(
      '({ local: JSON.stringify(localStorage), session: JSON.stringify(sessionStorage), cookies: document.cookie })',
    );
    expect(stored).toEqual({ local: '{}', session: '{}', cookies: '' });

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor({ timeout: 30_000 });
    await page.close();
  },
  300_000,
);
