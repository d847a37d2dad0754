import { chromiumMissing } from '@multiclaw/test-support/browser';
import type { TestIdp } from '@multiclaw/test-support/oidc-idp';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { TestCloud } from '../../../gateway/test/support/cloud.js';
import { signInAtIdp, startCloudWithIdp } from '../support/sso-cloud.js';
import { registerPerson, serveWorkspaceAgentsLocally } from './team-harness.js';
import { axeViolations, startUiWorld } from './ui-harness.js';

/**
 * Issue 16's whole story, two people on two machines, every step in the UI:
 * real cloud (real PostgreSQL), a real OpenID provider, two desktop hosts
 * each with its own real gateway, two Chromium windows. The owner signs in
 * with a password and invites; the member signs in with single sign-on
 * through the "system browser" (a Chromium page the host opens), accepts,
 * links their computer in one click and chats with the workspace agent the
 * owner made; the owner sees the transcript arrive live, then removes the
 * member, whose app leaves the workspace at once. The member's host refuses
 * the owner's commands (the cloud says no), not only the UI hiding them.
 */
const skip = chromiumMissing('ui-team-two-people.browser.test.ts');
const LONG = 60_000;
/** The model server's key: the workspace's vault holds it; neither gateway has a key of its own. */
const MODEL_KEY = 'sk-workspace-model-key-4711';

let idp: TestIdp;
let cloud: TestCloud;
let ownerWorld: Awaited<ReturnType<typeof startUiWorld>>;
let memberWorld: Awaited<ReturnType<typeof startUiWorld>>;
const ssoPages: Promise<void>[] = [];
const memberEmail = `member-${Date.now()}@example.com`;

beforeAll(async () => {
  if (skip) return;
  ({ idp, cloud } = await startCloudWithIdp());
  idp.accounts.set(memberEmail, { email: memberEmail, email_verified: true, name: 'Mia Member' });
  ownerWorld = await startUiWorld({ apiKey: MODEL_KEY });
  memberWorld = await startUiWorld({
    apiKey: MODEL_KEY,
    desktop: {
      // The "system browser": a page of the member's Chromium that signs in at the provider.
      openBrowser: (url) => {
        ssoPages.push(signInAtIdp(memberWorld.browser, url, memberEmail));
        return true;
      },
    },
  });
  await serveWorkspaceAgentsLocally(memberWorld);
}, 300_000);

afterAll(async () => {
  if (skip) return;
  await Promise.allSettled(ssoPages);
  await memberWorld?.close();
  await ownerWorld?.close();
  await cloud?.drop();
  await idp?.close();
}, 120_000);

async function accessible(page: Page, where: string) {
  expect(await axeViolations(page), where).toEqual([]);
}

async function chooseCloud(page: Page) {
  await page.getByRole('tab', { name: 'Team' }).click();
  await page.getByLabel('Cloud address').fill(cloud.url);
  await page.getByRole('button', { name: 'Use this cloud' }).click();
}

it.skipIf(skip)(
  'the owner invites, the member signs in with SSO, accepts, links and chats; the owner sees it live and removes them',
  async () => {
    // The owner: an account with a password, signed in through the Team screen.
    const owner = await registerPerson(cloud, 'owner');
    const ownerPage = await ownerWorld.browser.newPage();
    await ownerPage.goto(ownerWorld.t.desktop.windowUrl('main'));
    await chooseCloud(ownerPage);
    await ownerPage.getByLabel('Email').fill(owner.email);
    await ownerPage.getByLabel('Password').fill(owner.password);
    await ownerPage.getByRole('button', { name: 'Sign in', exact: true }).click();
    await ownerPage.getByText(`Signed in as ${owner.email}`).waitFor({ timeout: LONG });
    await ownerPage.getByLabel('New workspace name').fill('Acme');
    await ownerPage.getByRole('button', { name: 'Create workspace' }).click();
    await ownerPage.getByText('Workspace "Acme" created; you are its owner.').waitFor({ timeout: LONG });

    // The owner invites the member by email; the token is shown once, to pass on.
    await ownerPage.getByRole('tab', { name: 'Members' }).click();
    await ownerPage
      .getByRole('form', { name: 'Invite someone' })
      .getByLabel('Email address')
      .fill(memberEmail);
    await ownerPage.getByRole('button', { name: 'Invite', exact: true }).click();
    const tokenField = ownerPage.getByLabel('Invitation code', { exact: true });
    await tokenField.waitFor({ timeout: LONG });
    const invitation = await tokenField.inputValue();
    expect(invitation.length).toBeGreaterThan(20);
    await accessible(ownerPage, 'owner: members with a fresh invitation');

    // The member signs in with single sign-on: the host opens the "system browser".
    const memberPage = await memberWorld.browser.newPage();
    await memberPage.goto(memberWorld.t.desktop.windowUrl('main'));
    await chooseCloud(memberPage);
    await memberPage.getByRole('button', { name: 'Sign in with Test IdP' }).click();
    await memberPage.getByText(`Signed in as ${memberEmail}`).waitFor({ timeout: LONG });
    await accessible(memberPage, 'member: signed in, no workspace');

    // The member accepts; the owner's member list shows them without a click.
    await memberPage.getByLabel('Invitation code or link').fill(invitation);
    await memberPage.getByRole('button', { name: 'Accept invitation' }).click();
    await memberPage
      .getByText('You joined the workspace as a member; it is chosen above.')
      .waitFor({ timeout: LONG });
    await memberPage.getByRole('button', { name: /Acme \(Member\)/ }).waitFor({ timeout: LONG });
    // The provider gave her name: the card shows it, with her address beside the role.
    await ownerPage
      .getByRole('list', { name: 'People in Acme' })
      .getByText('Mia Member', { exact: true })
      .waitFor({ timeout: LONG });

    // The owner makes a secret and an agent granted it.
    await ownerPage.getByRole('tab', { name: 'Vault' }).click();
    await ownerPage.getByRole('button', { name: 'New secret' }).click();
    await ownerPage.getByLabel('Secret name').fill('OPENAI_COMPATIBLE_API_KEY');
    await ownerPage.getByLabel('Value').fill(MODEL_KEY);
    await ownerPage.getByRole('button', { name: 'Save secret' }).click();
    await ownerPage
      .getByRole('listitem', { name: 'Secret OPENAI_COMPATIBLE_API_KEY' })
      .waitFor({ timeout: LONG });
    await ownerPage.getByRole('tab', { name: 'Workspace agents' }).click();
    await ownerPage.getByRole('button', { name: 'New agent' }).click();
    await ownerPage.getByLabel('Name', { exact: true }).fill('Team helper');
    await ownerPage.getByRole('button', { name: /Provider/ }).click();
    await ownerPage.getByRole('option', { name: /OpenAI-compatible server/ }).click();
    await ownerPage.getByLabel('Model').fill('gpt-test');
    await ownerPage.getByText('OPENAI_COMPATIBLE_API_KEY', { exact: true }).click();
    await ownerPage.getByRole('button', { name: 'Create agent' }).click();
    await ownerPage.getByRole('listitem', { name: 'Agent Team helper' }).waitFor({ timeout: LONG });

    // The member cannot reach owner screens, and the host refuses owner commands for them.
    const workspaces = (await memberWorld.t.call('workspaces.list')).body as {
      items: { id: string; name: string }[];
    };
    const workspaceId = workspaces.items.find((item) => item.name === 'Acme')?.id ?? '';
    expect(await memberPage.getByRole('tab', { name: 'Members' }).count()).toBe(0);
    expect(await memberPage.getByRole('tab', { name: 'Audit log' }).count()).toBe(0);
    for (const [command, input] of [
      ['members.list', { workspaceId }],
      ['audit.list', { workspaceId }],
      ['secrets.create', { workspaceId, secret: { name: 'X', value: 'y' } }],
      ['invitations.create', { workspaceId, email: 'someone@example.com', role: 'member' }],
    ] as const) {
      const refused = await memberWorld.t.call(command, input);
      expect(refused.status, `${command}: ${JSON.stringify(refused.body)}`).toBe(403);
    }

    // The member links this computer in one click and chats with the workspace agent.
    await memberPage.getByRole('tab', { name: 'Overview' }).click();
    await memberPage.getByRole('button', { name: 'Link this computer to Acme' }).click();
    await memberPage.getByText(/^This computer's gateway is linked to Acme/).waitFor({ timeout: LONG });
    await memberPage.getByRole('tab', { name: 'Chat' }).click();
    const agentPicker = memberPage.getByRole('button', { name: /Agent/ });
    await agentPicker.click();
    await memberPage.getByRole('option', { name: /Team helper/ }).click({ timeout: LONG });
    await memberPage.getByRole('textbox', { name: 'Message' }).fill('Hello from the member');
    await memberPage.keyboard.press('Enter');
    await memberPage.getByRole('article', { name: 'Team helper replied' }).waitFor({ timeout: LONG });
    // The key came from the vault, over the link: the model server saw it; the gateway has none of its own.
    expect(memberWorld.provider.requests.at(-1)?.headers.authorization).toBe(`Bearer ${MODEL_KEY}`);

    // The owner sees the member's conversation arrive, live.
    await ownerPage.getByRole('tab', { name: 'Transcripts' }).click();
    await ownerPage
      .getByText(/Team helper/)
      .first()
      .waitFor({ timeout: LONG });
    await accessible(ownerPage, 'owner: transcripts');

    // The owner removes the member; the member's app leaves the workspace at once.
    await ownerPage.getByRole('tab', { name: 'Members' }).click();
    await ownerPage.getByRole('button', { name: `Remove ${memberEmail}` }).click();
    await ownerPage.getByRole('alertdialog').getByRole('button', { name: 'Remove member' }).click();
    await memberPage.getByRole('tab', { name: 'Team' }).click();
    await memberPage.getByText('You are no longer a member of Acme.').waitFor({ timeout: LONG });
    await accessible(memberPage, 'member: removed');
    expect((await memberWorld.t.call('members.list', { workspaceId })).status).toBe(404);
  },
  600_000,
);
