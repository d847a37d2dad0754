import { chromiumMissing } from '@multiclaw/test-support/browser';
import { jsonCaller } from '@multiclaw/test-support/json-http';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestCloud, type TestCloud } from '../../../gateway/test/support/cloud.js';
import { startTestDesktop, type TestDesktop } from '../support/desktop.js';
import { openTeam, type Person, registerPerson, signInHost } from './team-harness.js';
import { axeViolations, startUiWorld } from './ui-harness.js';

/**
 * The Team screen's Workspace agents and Vault sections against a real cloud
 * (real PostgreSQL) and two desktops: the owner's, and a member's with a real
 * gateway. The owner adds a secret and an agent granted it, edits the agent,
 * reveals the value only after confirming and hides it again (nothing kept in
 * the page's storage); changes made over the API show in open panels without
 * a click. The member sees names only, and her host asking for an owner's
 * command gets the cloud's refusal; once linked, her Agents screen lists the
 * workspace agent with its badge and without edit buttons.
 */
const skip = chromiumMissing('ui-team-agents-vault.browser.test.ts');
const UI_WAIT = { timeout: 30_000 };
const WORKSPACE = 'Foundry';
const KEY_NAME = 'OPENAI_API_KEY';
const KEY_VALUE = 'sk-vault-e2e-7f3a9c1d';

type UiWorld = Awaited<ReturnType<typeof startUiWorld>>;
let cloud: TestCloud;
/** Olga's machine (the owner's). */
let owner: UiWorld;
/** Bea's machine (a member's): a second desktop host with a real gateway, its window in the same browser. */
let member: UiWorld;
let memberDesktop: TestDesktop;
let olga: Person;
let bea: Person;
let workspaceId: string;
let secretId: string;
let olgaPage: Page;
let beaPage: Page;
let call: ReturnType<typeof jsonCaller>;

interface CloudAgent {
  id: string;
  name: string;
  model: string;
  provider: string;
  params: Record<string, number>;
  tools: string[];
  secretIds: string[];
}

/** A fresh access token of the person's (theirs from registering may have expired in a long run). */
async function login(person: Person): Promise<string> {
  const answer = await call<{ accessToken: string }>('POST', '/v1/auth/login', undefined, {
    email: person.email,
    password: person.password,
  });
  return answer.accessToken;
}

/** The card of `name` in the list labelled `list`. */
const card = (page: Page, list: string, name: string) =>
  page.getByRole('list', { name: list, exact: true }).getByRole('listitem').filter({ hasText: name });

/** What the page keeps in its storage (must stay empty: no value, no token). */
const storage = (page: Page) =>
  page.evaluate('({ local: JSON.stringify(localStorage), session: JSON.stringify(sessionStorage) })');

/** `secret.revealed` entries of the workspace's audit log, as the cloud keeps them. */
async function reveals(): Promise<number> {
  const log = await call<{ items: unknown[] }>(
    'GET',
    `/v1/workspaces/${workspaceId}/audit?action=secret.revealed`,
    await login(olga),
  );
  return log.items.length;
}

beforeAll(async () => {
  if (skip) return;
  cloud = await startTestCloud();
  call = jsonCaller(cloud.url);
  owner = await startUiWorld({ apiKey: 'sk-unused', gateway: false });
  memberDesktop = await startTestDesktop({ uiDir: owner.ui.dir, gateway: true });
  member = { ...owner, t: memberDesktop };
  [olga, bea] = await Promise.all([registerPerson(cloud, 'olga'), registerPerson(cloud, 'bea')]);
  workspaceId = (await call<{ id: string }>('POST', '/v1/workspaces', olga.token, { name: WORKSPACE })).id;
  const invitation = await call<{ token: string }>(
    'POST',
    `/v1/workspaces/${workspaceId}/invitations`,
    olga.token,
    { email: bea.email, role: 'member' },
  );
  await call('POST', '/v1/invitations/accept', bea.token, { token: invitation.token });
  await signInHost(owner, cloud, olga);
  await signInHost(member, cloud, bea);
}, 240_000);

afterAll(async () => {
  if (skip) return;
  await memberDesktop?.close();
  await owner?.close();
  await cloud?.drop();
}, 60_000);

it.skipIf(skip)(
  'the owner adds a secret, then an agent granted it, and edits the agent',
  async () => {
    olgaPage = await openTeam(owner, WORKSPACE, 'Vault');
    await olgaPage.getByText('No secrets yet.').waitFor(UI_WAIT);
    expect(await axeViolations(olgaPage)).toEqual([]);

    await olgaPage.getByRole('button', { name: 'New secret' }).click();
    const secretForm = olgaPage.getByRole('form', { name: 'New secret' });
    await secretForm.getByLabel('Secret name').fill(KEY_NAME);
    await secretForm.getByLabel('Value', { exact: true }).fill(KEY_VALUE);
    await secretForm.getByLabel('Description (optional)').fill('The team key for OpenAI');
    await secretForm.getByText('No workspace agents yet').waitFor(UI_WAIT);
    expect(await axeViolations(olgaPage)).toEqual([]);
    await secretForm.getByRole('button', { name: 'Save secret' }).click();
    await olgaPage.getByText(`Secret "${KEY_NAME}" created.`).waitFor(UI_WAIT);
    const keyCard = card(olgaPage, `Secrets of ${WORKSPACE}`, KEY_NAME);
    await keyCard.getByText('The team key for OpenAI').waitFor(UI_WAIT);
    await keyCard.getByText('Granted to: no agent').waitFor(UI_WAIT);
    // The value went to the cloud and is nowhere on the page.
    expect(await olgaPage.content()).not.toContain(KEY_VALUE);
    expect(await axeViolations(olgaPage)).toEqual([]);

    await olgaPage.getByRole('tab', { name: 'Workspace agents' }).click();
    await olgaPage.getByText('No workspace agents yet.').waitFor(UI_WAIT);
    await olgaPage.getByRole('button', { name: 'New agent' }).click();
    const agentForm = olgaPage.getByRole('form', { name: 'New workspace agent' });
    await agentForm.getByLabel('Name', { exact: true }).fill('Helper');
    await agentForm.getByLabel('Description (optional)').fill('Answers questions about the foundry');
    await agentForm.getByRole('button', { name: /Provider/ }).click();
    await olgaPage.getByRole('option', { name: 'OpenAI', exact: true }).click();
    await agentForm.getByLabel('Model', { exact: true }).fill('gpt-4o-mini');
    await agentForm.getByLabel('Instructions (system prompt, optional)').fill('Be brief.');
    await agentForm.getByLabel('Temperature (0 to 2, optional)').fill('0.3');
    await agentForm.getByLabel('Longest reply in tokens (optional)').fill('256');
    await agentForm.getByLabel('Tools (optional)').fill('web-search, fs_read');
    // React Aria's checkbox hides its input under the label: a person clicks the label.
    await agentForm.getByText(KEY_NAME, { exact: true }).click();
    expect(await agentForm.getByRole('checkbox', { name: KEY_NAME }).isChecked()).toBe(true);
    expect(await axeViolations(olgaPage)).toEqual([]);
    await agentForm.getByRole('button', { name: 'Create agent' }).click();
    await olgaPage.getByText('Agent "Helper" created.').waitFor(UI_WAIT);
    const helper = card(olgaPage, `Agents of ${WORKSPACE}`, 'Helper');
    await helper.getByText('OpenAI · gpt-4o-mini').waitFor(UI_WAIT);
    await helper.getByText(`Secrets granted: ${KEY_NAME}`).waitFor(UI_WAIT);
    await helper.getByText('Parameters: temperature 0.3 · longest reply 256 tokens').waitFor(UI_WAIT);
    await helper.getByText('Tools: web-search, fs_read').waitFor(UI_WAIT);
    expect(await axeViolations(olgaPage)).toEqual([]);

    // What the cloud now holds: exactly what the form said, granted the secret.
    const secrets = await call<{ items: { id: string; name: string; agentIds: string[] }[] }>(
      'GET',
      `/v1/workspaces/${workspaceId}/secrets`,
      olga.token,
    );
    const [secret] = secrets.items;
    secretId = secret?.id ?? '';
    let agents = await call<{ items: CloudAgent[] }>(
      'GET',
      `/v1/workspaces/${workspaceId}/agents`,
      olga.token,
    );
    expect(agents.items).toHaveLength(1);
    expect(agents.items[0]).toMatchObject({
      name: 'Helper',
      provider: 'openai',
      model: 'gpt-4o-mini',
      systemPrompt: 'Be brief.',
      params: { temperature: 0.3, maxTokens: 256 },
      tools: ['web-search', 'fs_read'],
      secretIds: [secretId],
    });
    expect(secret?.agentIds).toEqual([agents.items[0]?.id]);

    await helper.getByRole('button', { name: 'Edit Helper' }).click();
    const editForm = olgaPage.getByRole('form', { name: 'Edit workspace agent Helper' });
    expect(await editForm.getByLabel('Model', { exact: true }).inputValue()).toBe('gpt-4o-mini');
    await editForm.getByLabel('Model', { exact: true }).fill('gpt-4o');
    await editForm.getByLabel('Temperature (0 to 2, optional)').fill('');
    await editForm.getByLabel('Top P (0 to 1, optional)').fill('0.9');
    expect(await axeViolations(olgaPage)).toEqual([]);
    await editForm.getByRole('button', { name: 'Save agent' }).click();
    await olgaPage.getByText('Agent "Helper" saved.').waitFor(UI_WAIT);
    await helper.getByText('OpenAI · gpt-4o').waitFor(UI_WAIT);
    await helper.getByText('Parameters: longest reply 256 tokens · top P 0.9').waitFor(UI_WAIT);
    agents = await call('GET', `/v1/workspaces/${workspaceId}/agents`, olga.token);
    expect(agents.items[0]).toMatchObject({
      model: 'gpt-4o',
      params: { maxTokens: 256, topP: 0.9 },
      secretIds: [secretId],
    });
    expect(agents.items[0]?.params).not.toHaveProperty('temperature');

    // The Vault names the agent its secret is granted to.
    await olgaPage.getByRole('tab', { name: 'Vault' }).click();
    await card(olgaPage, `Secrets of ${WORKSPACE}`, KEY_NAME)
      .getByText('Granted to: Helper')
      .waitFor(UI_WAIT);
  },
  240_000,
);

it.skipIf(skip)(
  'a reveal needs the confirmation, shows the value, hides it again and leaves nothing in storage',
  async () => {
    const keyCard = card(olgaPage, `Secrets of ${WORKSPACE}`, KEY_NAME);
    const before = await reveals();

    // Cancelled: nothing asked of the cloud, nothing shown.
    await keyCard.getByRole('button', { name: `Reveal ${KEY_NAME}` }).click();
    const dialog = olgaPage.getByRole('alertdialog', { name: `Reveal the value of ${KEY_NAME}?` });
    await dialog.waitFor(UI_WAIT);
    expect(await olgaPage.content()).not.toContain(KEY_VALUE);
    expect(await axeViolations(olgaPage)).toEqual([]);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached', ...UI_WAIT });
    expect(await olgaPage.content()).not.toContain(KEY_VALUE);
    expect(await reveals()).toBe(before);

    // Confirmed: the value shows, the reveal is audited.
    await keyCard.getByRole('button', { name: `Reveal ${KEY_NAME}` }).click();
    await dialog.getByRole('button', { name: 'Reveal value' }).click();
    await keyCard.getByText(KEY_VALUE, { exact: true }).waitFor(UI_WAIT);
    expect(await axeViolations(olgaPage)).toEqual([]);
    expect(await reveals()).toBe(before + 1);
    expect(await storage(olgaPage)).toEqual({ local: '{}', session: '{}' });

    await keyCard.getByRole('button', { name: `Hide the value of ${KEY_NAME}` }).click();
    await keyCard.getByText(KEY_VALUE).waitFor({ state: 'detached', ...UI_WAIT });
    expect(await olgaPage.content()).not.toContain(KEY_VALUE);
    expect(await storage(olgaPage)).toEqual({ local: '{}', session: '{}' });
    expect(await axeViolations(olgaPage)).toEqual([]);

    // Shown, then the secret changes elsewhere: the value on screen may be stale, so it goes.
    await keyCard.getByRole('button', { name: `Reveal ${KEY_NAME}` }).click();
    await dialog.getByRole('button', { name: 'Reveal value' }).click();
    await keyCard.getByText(KEY_VALUE, { exact: true }).waitFor(UI_WAIT);
    await call('PUT', `/v1/workspaces/${workspaceId}/secrets/${secretId}`, await login(olga), {
      description: 'The team key for OpenAI, rotated monthly',
    });
    await keyCard.getByText('rotated monthly').waitFor(UI_WAIT);
    // The event that brought the new description hid the value first (not the 30 s timer).
    expect(await keyCard.getByText(KEY_VALUE).count()).toBe(0);

    // Left alone, the value goes by itself after 30 seconds (the page's clock, run forward).
    const timed = await owner.browser.newPage();
    await timed.clock.install();
    await timed.goto(owner.t.desktop.windowUrl('main'));
    await timed.getByRole('tab', { name: 'Team' }).click();
    await timed.getByRole('tab', { name: 'Vault' }).click();
    const timedCard = card(timed, `Secrets of ${WORKSPACE}`, KEY_NAME);
    await timedCard.getByRole('button', { name: `Reveal ${KEY_NAME}` }).click();
    await timed.getByRole('alertdialog').getByRole('button', { name: 'Reveal value' }).click();
    await timedCard.getByText(KEY_VALUE, { exact: true }).waitFor(UI_WAIT);
    await timed.clock.fastForward(25_000);
    expect(await timedCard.getByText(KEY_VALUE, { exact: true }).count()).toBe(1);
    await timed.clock.fastForward(6_000);
    await timedCard.getByText(KEY_VALUE).waitFor({ state: 'detached', ...UI_WAIT });
    expect(await timed.content()).not.toContain(KEY_VALUE);
    await timed.close();
  },
  120_000,
);

it.skipIf(skip)(
  "the owner's open panels follow changes made elsewhere, and she deletes after a confirmation",
  async () => {
    const token = await login(olga);
    // Vault open: a secret created over the API appears without a click.
    await call('POST', `/v1/workspaces/${workspaceId}/secrets`, token, {
      name: 'GITHUB_TOKEN',
      value: 'ghp-not-shown',
      description: 'CI pushes',
    });
    const github = card(olgaPage, `Secrets of ${WORKSPACE}`, 'GITHUB_TOKEN');
    await github.getByText('CI pushes').waitFor(UI_WAIT);

    await github.getByRole('button', { name: 'Delete GITHUB_TOKEN' }).click();
    const confirm = olgaPage.getByRole('alertdialog', { name: 'Delete GITHUB_TOKEN?' });
    await confirm.waitFor(UI_WAIT);
    expect(await axeViolations(olgaPage)).toEqual([]);
    await confirm.getByRole('button', { name: 'Delete secret' }).click();
    await olgaPage.getByText('Secret "GITHUB_TOKEN" deleted.').waitFor(UI_WAIT);
    expect(await github.count()).toBe(0);

    // Agents open: an agent created over the API appears, then goes after a confirmed delete.
    await olgaPage.getByRole('tab', { name: 'Workspace agents' }).click();
    await card(olgaPage, `Agents of ${WORKSPACE}`, 'Helper').waitFor(UI_WAIT);
    await call('POST', `/v1/workspaces/${workspaceId}/agents`, token, {
      name: 'Scratch',
      provider: 'anthropic',
      model: 'claude-sonnet',
    });
    const scratch = card(olgaPage, `Agents of ${WORKSPACE}`, 'Scratch');
    await scratch.getByText('Anthropic · claude-sonnet').waitFor(UI_WAIT);
    await scratch.getByRole('button', { name: 'Delete Scratch' }).click();
    await olgaPage
      .getByRole('alertdialog', { name: 'Delete Scratch?' })
      .getByRole('button', { name: 'Delete agent' })
      .click();
    await olgaPage.getByText('Agent "Scratch" deleted.').waitFor(UI_WAIT);
    const agents = await call<{ items: CloudAgent[] }>('GET', `/v1/workspaces/${workspaceId}/agents`, token);
    expect(agents.items.map((agent) => agent.name)).toEqual(['Helper']);
  },
  120_000,
);

it.skipIf(skip)(
  'a member sees names only, live, and her host is refused what is for owners',
  async () => {
    beaPage = await openTeam(member, WORKSPACE, 'Workspace agents');
    const helper = card(beaPage, `Agents of ${WORKSPACE}`, 'Helper');
    await helper.getByText(`Secrets granted: ${KEY_NAME}`).waitFor(UI_WAIT);
    await beaPage
      .getByText("These agents appear in this computer's Agents and Chat once it is linked")
      .waitFor(UI_WAIT);
    expect(await beaPage.getByRole('button', { name: 'New agent' }).count()).toBe(0);
    expect(await helper.getByRole('button').count()).toBe(0);
    expect(await axeViolations(beaPage)).toEqual([]);

    // Made by the owner over the API, seen by the member without a click.
    await call('POST', `/v1/workspaces/${workspaceId}/agents`, await login(olga), {
      name: 'Reviewer',
      provider: 'openai',
      model: 'gpt-4o-mini',
      secretIds: [secretId],
    });
    await card(beaPage, `Agents of ${WORKSPACE}`, 'Reviewer').waitFor(UI_WAIT);

    await beaPage.getByRole('tab', { name: 'Vault' }).click();
    const keyCard = card(beaPage, `Secrets of ${WORKSPACE}`, KEY_NAME);
    await keyCard.getByText(/^Granted to: (Helper, Reviewer|Reviewer, Helper)$/).waitFor(UI_WAIT);
    await beaPage.getByText("Values are for the workspace's owners").waitFor(UI_WAIT);
    expect(await beaPage.getByRole('button', { name: 'New secret' }).count()).toBe(0);
    expect(await keyCard.getByRole('button').count()).toBe(0);
    expect(await beaPage.content()).not.toContain(KEY_VALUE);
    expect(await axeViolations(beaPage)).toEqual([]);

    // Not only hidden: the cloud refuses the member's host, and says so in the error envelope.
    const refused = async (command: string, input: Record<string, unknown>) => {
      const answer = await member.t.call(command, { workspaceId, ...input });
      expect({ command, status: answer.status }).toEqual({ command, status: 403 });
      expect((answer.body as { error?: { code?: string } }).error?.code).toBe('FORBIDDEN');
      expect(JSON.stringify(answer.body)).not.toContain(KEY_VALUE);
    };
    await refused('secrets.reveal', { secretId });
    await refused('secrets.update', { secretId, changes: { value: 'taken over' } });
    await refused('secrets.delete', { secretId });
    await refused('secrets.create', { secret: { name: 'MINE', value: 'x' } });
    await refused('workspaceAgents.create', {
      agent: { name: 'Mine', provider: 'openai', model: 'gpt-4o-mini', secretIds: [secretId] },
    });
    const listed = await member.t.call('secrets.list', { workspaceId });
    expect(listed.status).toBe(200);
    expect(JSON.stringify(listed.body)).not.toContain(KEY_VALUE);
    // Nothing changed in the cloud.
    const secrets = await call<{ items: { name: string; version: number }[] }>(
      'GET',
      `/v1/workspaces/${workspaceId}/secrets`,
      await login(olga),
    );
    expect(secrets.items.map(({ name, version }) => ({ name, version }))).toEqual([
      { name: KEY_NAME, version: 1 },
    ]);
    expect(await storage(beaPage)).toEqual({ local: '{}', session: '{}' });
  },
  120_000,
);

it.skipIf(skip)(
  "once linked, the member's Agents screen lists the workspace agent with its badge, read-only",
  async () => {
    const linked = await member.t.call('gateways.linkThisComputer', { workspaceId });
    expect(linked.status).toBe(200);
    // The gateway gets the workspace's agents over its link.
    let names: string[] = [];
    for (let i = 0; i < 120 && !names.includes('Helper'); i++) {
      const listed = (await member.t.call('agents.list')).body as { agents: { name: string }[] };
      names = listed.agents.map((agent) => agent.name);
      if (!names.includes('Helper')) await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(names).toContain('Helper');

    await beaPage.getByRole('tab', { name: 'Agents', exact: true }).click();
    const helper = card(beaPage, 'Agents', 'Helper');
    await helper.getByText('Workspace agent', { exact: true }).waitFor(UI_WAIT);
    await helper.getByText('openai/gpt-4o').waitFor(UI_WAIT);
    await helper.getByText(/read-only here/).waitFor(UI_WAIT);
    expect(await helper.getByRole('button').count()).toBe(0);
    expect(await axeViolations(beaPage)).toEqual([]);
  },
  180_000,
);

it.skipIf(skip)(
  'a vault of more than one page: "Load more" shows the rest, and a new agent may be granted any secret',
  async () => {
    const token = await login(olga);
    const names = Array.from({ length: 101 }, (_, i) => `PAGED_${String(i + 1).padStart(3, '0')}`);
    for (const name of names) {
      await call('POST', `/v1/workspaces/${workspaceId}/secrets`, token, { name, value: `value-of-${name}` });
    }
    const page = await openTeam(owner, WORKSPACE, 'Vault');
    const list = page.getByRole('list', { name: `Secrets of ${WORKSPACE}`, exact: true });
    const shown = async () =>
      (
        await list
          .getByRole('listitem')
          .evaluateAll((items) => items.map((item) => item.getAttribute('aria-label')))
      )
        .filter((label): label is string => label?.startsWith('Secret PAGED_') ?? false)
        .map((label) => label.slice('Secret '.length));
    const more = page.getByRole('button', { name: 'Load more secrets' });
    await more.waitFor(UI_WAIT);
    // One page is 100 cards; at least one of the 101 is not among them yet.
    expect(await list.getByRole('listitem').count()).toBe(100);
    expect((await shown()).length).toBeLessThan(names.length);
    await more.click();
    await more.waitFor({ state: 'detached', ...UI_WAIT });
    expect((await shown()).sort()).toEqual(names);
    expect(await axeViolations(page)).toEqual([]);

    // The agent form offers every secret, not the first page of them.
    await page.getByRole('tab', { name: 'Workspace agents' }).click();
    await page.getByRole('button', { name: 'New agent' }).click();
    const agentForm = page.getByRole('form', { name: 'New workspace agent' });
    for (const name of [names[0], names[100]] as string[]) {
      await agentForm.getByRole('checkbox', { name, exact: true }).waitFor(UI_WAIT);
    }
    const offered = await agentForm
      .getByRole('checkbox')
      .evaluateAll((boxes) => boxes.map((box) => box.closest('label')?.textContent ?? ''));
    expect(offered.filter((name) => name.startsWith('PAGED_')).sort()).toEqual(names);
    await page.close();
  },
  300_000,
);
