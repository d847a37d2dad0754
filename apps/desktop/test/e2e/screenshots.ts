/**
 * Regenerates docs/screenshots/*.png: the main screens of the desktop window
 * as a person fills them in, against a real gateway and a local fake provider.
 * `pnpm --filter @multiclaw/desktop screenshots` (needs Chromium, as the browser tests do).
 */
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { jsonCaller } from '@multiclaw/test-support/json-http';
import type { Page } from 'playwright-core';
import { startTestCloud } from '../../../gateway/test/support/cloud.js';
import { registerPerson, serveWorkspaceAgentsLocally, signInHost } from './team-harness.js';
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

    await teamShots(world, page, go);

    await go('Settings');
    await page.getByText('Crash logs', { exact: true }).waitFor(WAIT);
    await shot(page, 'settings');
  } finally {
    await world.close();
  }
}

/**
 * The team screens against a real cloud (a fresh database on the PostgreSQL
 * the tests use): a workspace with a member, a workspace agent with its key in
 * the vault, this computer linked and one synced conversation.
 */
async function teamShots(
  world: Awaited<ReturnType<typeof startUiWorld>>,
  page: Page,
  go: (name: string) => Promise<void>,
) {
  const cloud = await startTestCloud();
  try {
    const call = jsonCaller(cloud.url);
    const owner = await registerPerson(cloud, 'olga');
    const member = await registerPerson(cloud, 'mo');
    const workspaceId = (
      await call<{ id: string }>('POST', '/v1/workspaces', owner.token, { name: 'Studio' })
    ).id;
    const invited = await call<{ token: string }>(
      'POST',
      `/v1/workspaces/${workspaceId}/invitations`,
      owner.token,
      {
        email: member.email,
        role: 'member',
      },
    );
    await call('POST', '/v1/invitations/accept', member.token, { token: invited.token });
    await call('POST', `/v1/workspaces/${workspaceId}/invitations`, owner.token, {
      email: 'sam@example.com',
      role: 'member',
    });
    const agent = await cloud.api.agent(owner.token, workspaceId, {
      name: 'Planner',
      description: 'Plans the week from the team notes',
      provider: 'openai-compatible',
      model: 'gpt-4o-mini',
      systemPrompt: 'Answer briefly, with sources.',
    });
    await cloud.api.secret(owner.token, workspaceId, {
      name: 'OPENAI_COMPATIBLE_API_KEY',
      value: 'sk-screenshot-key',
      agentIds: [agent.id],
    });
    await serveWorkspaceAgentsLocally(world);
    await signInHost(world, cloud, owner);
    await world.t.call('gateways.linkThisComputer', { workspaceId });
    world.replies.quick = ['Monday: ', 'review the notes. ', 'Tuesday: write the plan.'];
    for (let tries = 0; tries < 120; tries++) {
      if ((await world.t.call('chat.send', { agentId: agent.id, message: 'Plan my week' })).status === 200)
        break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }

    // The team sections sit below the account and workspace controls: a taller window shows them whole.
    await page.setViewportSize({ width: 1100, height: 1100 });
    await page.goto(world.t.desktop.windowUrl('main'));
    await go('Team');
    const section = async (tab: string, name: string, ready: () => Promise<unknown>) => {
      await page.getByRole('tab', { name: tab }).click();
      await ready();
      await shot(page, name);
    };
    await section('Members', 'team-members', () =>
      page.getByRole('list', { name: 'Pending invitations' }).waitFor(WAIT),
    );
    await section('Workspace agents', 'team-agents', () =>
      page.getByRole('listitem', { name: 'Agent Planner' }).waitFor(WAIT),
    );
    await section('Vault', 'team-vault', () =>
      page.getByRole('listitem', { name: 'Secret OPENAI_COMPATIBLE_API_KEY' }).waitFor(WAIT),
    );
    await section('Gateways', 'team-gateways', () => page.getByText('Online').first().waitFor(WAIT));
    await section('Transcripts', 'team-transcripts', () =>
      page
        .getByText(/Planner/)
        .first()
        .waitFor(WAIT),
    );
    await section('Audit log', 'team-audit', () => page.getByRole('table').waitFor(WAIT));
    await go('Account');
    await page.getByRole('button', { name: 'Sign out everywhere else' }).waitFor(WAIT);
    await shot(page, 'account');
    await world.t.call('account.signOut');
    await page.setViewportSize({ width: 1100, height: 720 });
  } finally {
    await cloud.drop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
