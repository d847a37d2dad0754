import { chromiumMissing } from '@multiclaw/test-support/browser';
import { jsonCaller } from '@multiclaw/test-support/json-http';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestCloud, type TestCloud } from '../../../gateway/test/support/cloud.js';
import { startTestDesktop, type TestDesktop } from '../support/desktop.js';
import { openTeam, type Person, registerPerson, signInHost } from './team-harness.js';
import { axeViolations, startUiWorld } from './ui-harness.js';

/**
 * The Team screen's Members and Overview sections and accepting an
 * invitation, against a real cloud (real PostgreSQL) and two desktops: the
 * owner's and the invitee's, each signed in as its person. The owner invites
 * (the code shown once), the invitee accepts in her own window and appears
 * in the owner's list without a reload; roles change, the last-owner rule is
 * shown before anyone hits it, an invitation is revoked, a member removed,
 * ownership transferred, the workspace renamed and deleted. A member's host
 * asking for an owner's command gets the cloud's refusal.
 */
const skip = chromiumMissing('ui-team-members.browser.test.ts');
const UI_WAIT = { timeout: 30_000 };
const WORKSPACE = 'Studio';
const RENAMED = 'Studio North';

type UiWorld = Awaited<ReturnType<typeof startUiWorld>>;
let cloud: TestCloud;
/** Olga's machine (the owner's), with its browser. */
let owner: UiWorld;
/** Bea's machine: a second desktop host, its window opened in the same browser. */
let invitee: UiWorld;
let inviteeDesktop: TestDesktop;
let olga: Person;
let bea: Person;
let cy: Person;
let workspaceId: string;
/** Olga's second workspace, where she stays the only owner. */
let olgaAlone: string;
let olgaPage: Page;
let beaPage: Page;
let call: ReturnType<typeof jsonCaller>;

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** A member's card in the owner's list. */
const card = (page: Page, email: string) =>
  page
    .getByRole('list', { name: `People in ${WORKSPACE}` })
    .getByRole('listitem')
    .filter({ hasText: email });
/** The role picker of a member's card (React Aria's Select: a button named by its label and value). */
const rolePicker = (page: Page, email: string) =>
  page.getByRole('button', { name: new RegExp(`Role of ${escapeRegExp(email)}`) });

/** Invites `email` in the Members section and answers the code shown, once. */
async function invite(page: Page, email: string): Promise<string> {
  await page.getByLabel('Email address', { exact: true }).fill(email);
  await page.getByRole('button', { name: 'Invite', exact: true }).click();
  const code = page.getByRole('textbox', { name: 'Invitation code', exact: true });
  await code.waitFor(UI_WAIT);
  await page.getByText(`${email} is invited. Pass this code on to them yourself`).waitFor(UI_WAIT);
  return code.inputValue();
}

/** A fresh access token of the person's (theirs from registering may have expired in a long run). */
async function login(person: Person): Promise<string> {
  const answer = await call<{ accessToken: string }>('POST', '/v1/auth/login', undefined, {
    email: person.email,
    password: person.password,
  });
  return answer.accessToken;
}

async function choose(page: Page, picker: ReturnType<typeof rolePicker>, option: 'Owner' | 'Member') {
  await picker.click();
  await page.getByRole('option', { name: option, exact: true }).click();
}

beforeAll(async () => {
  if (skip) return;
  cloud = await startTestCloud();
  call = jsonCaller(cloud.url);
  owner = await startUiWorld({ apiKey: 'sk-unused', gateway: false });
  inviteeDesktop = await startTestDesktop({ uiDir: owner.ui.dir, gateway: false });
  invitee = { ...owner, t: inviteeDesktop };
  [olga, bea, cy] = await Promise.all([
    registerPerson(cloud, 'olga'),
    registerPerson(cloud, 'bea'),
    registerPerson(cloud, 'cy'),
  ]);
  await signInHost(owner, cloud, olga);
  await signInHost(invitee, cloud, bea);
  const created = await owner.t.call('workspaces.create', { name: WORKSPACE });
  expect(created.status).toBe(200);
  workspaceId = String(created.body.id);
}, 240_000);

afterAll(async () => {
  if (skip) return;
  await inviteeDesktop?.close();
  await owner?.close();
  await cloud?.drop();
}, 60_000);

it.skipIf(skip)(
  'the only owner sees the last-owner rule before running into it',
  async () => {
    olgaPage = await openTeam(owner, WORKSPACE, 'Members');
    const mine = card(olgaPage, olga.email);
    await mine.waitFor(UI_WAIT);
    await mine.getByText(/\(you\)/).waitFor(UI_WAIT);
    await mine
      .getByText('You are the only owner, and a workspace always keeps one', { exact: false })
      .waitFor(UI_WAIT);
    expect(await rolePicker(olgaPage, olga.email).isDisabled()).toBe(true);
    expect(await mine.getByRole('button', { name: 'Leave this workspace' }).isDisabled()).toBe(true);
    await olgaPage.getByText('No pending invitations.').waitFor(UI_WAIT);
    expect(await axeViolations(olgaPage)).toEqual([]);
    // Not only shown: the cloud refuses it to the host too.
    for (const [command, input] of [
      ['members.changeRole', { workspaceId, userId: olga.id, role: 'member' }],
      ['members.remove', { workspaceId, userId: olga.id }],
    ] as const) {
      const answer = await owner.t.call(command, input);
      expect(answer.body, command).toMatchObject({ error: { code: 'WORKSPACE_LAST_OWNER' } });
    }
  },
  120_000,
);

it.skipIf(skip)(
  'invites by email (the code shown once); the invitee accepts in her window and appears live',
  async () => {
    const code = await invite(olgaPage, bea.email);
    expect(code).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    expect(await axeViolations(olgaPage)).toEqual([]);
    await olgaPage.getByRole('list', { name: 'Pending invitations' }).getByText(bea.email).waitFor(UI_WAIT);

    // Shown once: gone on "Done", and no list or other window has it.
    await olgaPage.getByRole('button', { name: 'Done' }).click();
    expect(await olgaPage.getByRole('textbox', { name: 'Invitation code', exact: true }).count()).toBe(0);
    expect(await olgaPage.content()).not.toContain(code);
    const listed = await owner.t.call('invitations.list', { workspaceId });
    expect(listed.status).toBe(200);
    expect(JSON.stringify(listed.body)).not.toContain(code);
    const stored = await olgaPage.evaluate('JSON.stringify([localStorage, sessionStorage, document.cookie])');
    expect(stored).not.toContain(code);

    beaPage = await owner.browser.newPage();
    await beaPage.goto(inviteeDesktop.desktop.windowUrl('main'));
    await beaPage.getByRole('tab', { name: 'Team' }).click();
    await beaPage.getByText('No workspace yet.').waitFor(UI_WAIT);

    // A wrong code is refused in plain words, and nothing is joined.
    await beaPage.getByLabel('Invitation code or link').fill(`${code.slice(0, -4)}AAAA`);
    await beaPage.getByRole('button', { name: 'Accept invitation' }).click();
    await beaPage.getByText('This invitation code does not work', { exact: false }).waitFor(UI_WAIT);
    expect(await axeViolations(beaPage)).toEqual([]);

    // Pasted as a link, the code inside is used.
    await beaPage.getByLabel('Invitation code or link').fill(`https://app.example.com/invite?token=${code}`);
    await beaPage.getByRole('button', { name: 'Accept invitation' }).click();
    await beaPage.getByText('You joined the workspace as a member').waitFor(UI_WAIT);
    await beaPage.getByRole('button', { name: new RegExp(`${WORKSPACE} \\(Member\\)`) }).waitFor(UI_WAIT);
    await beaPage.getByText('As a member you can use the workspace', { exact: false }).waitFor(UI_WAIT);
    expect(await beaPage.getByRole('tab', { name: 'Members' }).count()).toBe(0);
    expect(await axeViolations(beaPage)).toEqual([]);

    // Olga's list shows Bea without a reload, and her invitation is no longer pending.
    await card(olgaPage, bea.email).waitFor(UI_WAIT);
    await olgaPage.getByText('No pending invitations.').waitFor(UI_WAIT);
    expect(await axeViolations(olgaPage)).toEqual([]);

    // The code worked once.
    await expect(call('POST', '/v1/invitations/accept', await login(cy), { token: code })).rejects.toThrow(
      /HTTP 4/,
    );
  },
  180_000,
);

it.skipIf(skip)(
  "a member's host asking for an owner's command gets the cloud's refusal",
  async () => {
    for (const [command, input] of [
      ['members.list', { workspaceId }],
      ['invitations.list', { workspaceId }],
      ['invitations.create', { workspaceId, email: cy.email, role: 'member' }],
      ['members.changeRole', { workspaceId, userId: olga.id, role: 'member' }],
      ['members.remove', { workspaceId, userId: olga.id }],
      ['workspaces.rename', { workspaceId, name: 'Taken over' }],
      ['workspaces.delete', { workspaceId }],
    ] as const) {
      const answer = await inviteeDesktop.call(command, input);
      expect([403, 404], `${command}: ${JSON.stringify(answer.body)}`).toContain(answer.status);
      expect(answer.body).toMatchObject({ error: { code: expect.stringMatching(/FORBIDDEN|NOT_FOUND/) } });
    }
    // Nothing happened: the workspace, its name and Olga's ownership are as they were.
    const members = (await owner.t.call('members.list', { workspaceId })).body as {
      items: { userId: string; role: string }[];
    };
    expect(members.items.find((member) => member.userId === olga.id)?.role).toBe('owner');
    const mine = (await owner.t.call('workspaces.list')).body as { items: { id: string; name: string }[] };
    expect(mine.items.find((workspace) => workspace.id === workspaceId)?.name).toBe(WORKSPACE);
    // A workspace she is not in is a 404 to her, never a 403.
    const other = await owner.t.call('workspaces.create', { name: 'Olga alone' });
    olgaAlone = String(other.body.id);
    const elsewhere = await inviteeDesktop.call('members.list', { workspaceId: olgaAlone });
    expect(elsewhere.status).toBe(404);
  },
  120_000,
);

it.skipIf(skip)(
  'changes roles: with a second owner the rule lifts; both windows follow live',
  async () => {
    await choose(olgaPage, rolePicker(olgaPage, bea.email), 'Owner');
    await olgaPage.getByText(`${bea.email} is now an owner.`).waitFor(UI_WAIT);
    await beaPage.getByRole('button', { name: new RegExp(`${WORKSPACE} \\(Owner\\)`) }).waitFor(UI_WAIT);
    // Bea, now an owner too, sees the pending invitations, and they follow Olga's changes live.
    await beaPage.getByRole('tab', { name: 'Members' }).click();
    await beaPage.getByText('No pending invitations.').waitFor(UI_WAIT);
    const dee = 'dee@example.test';
    const invited = await call<{ id: string }>(
      'POST',
      `/v1/workspaces/${workspaceId}/invitations`,
      await login(olga),
      {
        email: dee,
        role: 'member',
      },
    );
    await beaPage.getByRole('list', { name: 'Pending invitations' }).getByText(dee).waitFor(UI_WAIT);
    await call('DELETE', `/v1/workspaces/${workspaceId}/invitations/${invited.id}`, await login(olga));
    await beaPage.getByText('No pending invitations.').waitFor(UI_WAIT);
    // Two owners: Olga may now step down or leave, and the explanation is gone.
    await expect.poll(() => rolePicker(olgaPage, olga.email).isDisabled(), UI_WAIT).toBe(false);
    expect(await olgaPage.getByText('the only owner', { exact: false }).count()).toBe(0);
    expect(await axeViolations(olgaPage)).toEqual([]);
    // Stepping down herself asks first, and says what she loses; she cancels.
    await choose(olgaPage, rolePicker(olgaPage, olga.email), 'Member');
    const dialog = olgaPage.getByRole('alertdialog');
    await dialog.getByText('You will no longer manage members', { exact: false }).waitFor(UI_WAIT);
    expect(await axeViolations(olgaPage)).toEqual([]);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await expect.poll(() => dialog.count(), UI_WAIT).toBe(0);
    expect(await rolePicker(olgaPage, olga.email).textContent()).toContain('Owner');

    await choose(olgaPage, rolePicker(olgaPage, bea.email), 'Member');
    await olgaPage.getByText(`${bea.email} is now a member.`).waitFor(UI_WAIT);
    await beaPage.getByRole('button', { name: new RegExp(`${WORKSPACE} \\(Member\\)`) }).waitFor(UI_WAIT);
    // Her Members section went with the role: she is back on the Overview.
    await beaPage.getByText('As a member you can use the workspace', { exact: false }).waitFor(UI_WAIT);
    expect(await beaPage.getByRole('tab', { name: 'Members' }).count()).toBe(0);
    await card(olgaPage, olga.email).getByText('You are the only owner', { exact: false }).waitFor(UI_WAIT);
  },
  120_000,
);

it.skipIf(skip)(
  'revokes a pending invitation (its code stops working); removes a member',
  async () => {
    const revoked = await invite(olgaPage, cy.email);
    await olgaPage.getByRole('button', { name: 'Done' }).click();
    await olgaPage.getByRole('button', { name: `Revoke the invitation for ${cy.email}` }).click();
    const dialog = olgaPage.getByRole('alertdialog');
    await dialog.getByText('Its code stops working.').waitFor(UI_WAIT);
    expect(await axeViolations(olgaPage)).toEqual([]);
    await dialog.getByRole('button', { name: 'Revoke invitation' }).click();
    await olgaPage.getByText(`The invitation for ${cy.email} is revoked`).waitFor(UI_WAIT);
    await olgaPage.getByText('No pending invitations.').waitFor(UI_WAIT);
    await expect(call('POST', '/v1/invitations/accept', await login(cy), { token: revoked })).rejects.toThrow(
      /HTTP 4\d\d .*INVITATION_INVALID/,
    );

    // Invited again, Cy accepts over the API; Olga's list shows him live, then she removes him.
    const code = await invite(olgaPage, cy.email);
    await olgaPage.getByRole('button', { name: 'Done' }).click();
    // Cy's code in Bea's window: refused, it was sent to another address.
    await beaPage.getByLabel('Invitation code or link').fill(code);
    await beaPage.getByRole('button', { name: 'Accept invitation' }).click();
    await beaPage
      .getByText('This invitation was sent to another email address.', { exact: false })
      .waitFor(UI_WAIT);
    expect(await axeViolations(beaPage)).toEqual([]);
    await call('POST', '/v1/invitations/accept', await login(cy), { token: code });
    await card(olgaPage, cy.email).waitFor(UI_WAIT);
    await card(olgaPage, cy.email)
      .getByRole('button', { name: `Remove ${cy.email}` })
      .click();
    await olgaPage.getByRole('alertdialog').getByText('They stop seeing everything in it').waitFor(UI_WAIT);
    expect(await axeViolations(olgaPage)).toEqual([]);
    await olgaPage.getByRole('alertdialog').getByRole('button', { name: 'Remove member' }).click();
    await olgaPage.getByText(`${cy.email} was removed.`).waitFor(UI_WAIT);
    expect(await card(olgaPage, cy.email).count()).toBe(0);
    await expect(call('GET', `/v1/workspaces/${workspaceId}`, await login(cy))).rejects.toThrow(/HTTP 404/);
  },
  180_000,
);

it.skipIf(skip)(
  'renames the workspace; transfers ownership (the owner becomes a member)',
  async () => {
    await olgaPage.getByRole('tab', { name: 'Overview' }).click();
    await olgaPage.getByLabel('Workspace name', { exact: true }).fill(RENAMED);
    await olgaPage.getByRole('button', { name: 'Rename' }).click();
    await olgaPage.getByText(`The workspace is now called "${RENAMED}".`).waitFor(UI_WAIT);
    await olgaPage.getByRole('button', { name: new RegExp(`${RENAMED} \\(Owner\\)`) }).waitFor(UI_WAIT);
    expect(await axeViolations(olgaPage)).toEqual([]);
    const seen = (await inviteeDesktop.call('workspaces.list')).body as { items: { name: string }[] };
    expect(seen.items.map((workspace) => workspace.name)).toContain(RENAMED);

    await olgaPage.getByRole('tab', { name: 'Members' }).click();
    await card(olgaPage, bea.email)
      .getByRole('button', { name: `Transfer ownership to ${bea.email}` })
      .click();
    const dialog = olgaPage.getByRole('alertdialog');
    await dialog.getByText('becomes the owner and you become a member', { exact: false }).waitFor(UI_WAIT);
    expect(await axeViolations(olgaPage)).toEqual([]);
    await dialog.getByRole('button', { name: 'Transfer ownership' }).click();

    // Olga is a member now: no Members section, the members' line instead; Bea is the owner, live.
    await olgaPage.getByRole('button', { name: new RegExp(`${RENAMED} \\(Member\\)`) }).waitFor(UI_WAIT);
    await expect.poll(() => olgaPage.getByRole('tab', { name: 'Members' }).count(), UI_WAIT).toBe(0);
    await olgaPage.getByText('As a member you can use the workspace', { exact: false }).waitFor(UI_WAIT);
    await beaPage.getByRole('button', { name: new RegExp(`${RENAMED} \\(Owner\\)`) }).waitFor(UI_WAIT);
    expect(await axeViolations(olgaPage)).toEqual([]);
    // And her host is now refused what she did a moment ago.
    const refused = await owner.t.call('invitations.create', {
      workspaceId,
      email: cy.email,
      role: 'member',
    });
    expect(refused.status).toBe(403);
  },
  180_000,
);

it.skipIf(skip)(
  "the new owner deletes the workspace, confirming its name; it leaves both people's lists",
  async () => {
    await beaPage.getByRole('tab', { name: 'Overview' }).click();
    await beaPage.getByRole('button', { name: 'Delete workspace' }).click();
    const dialog = beaPage.getByRole('alertdialog');
    await dialog.getByText('Type its name to confirm', { exact: false }).waitFor(UI_WAIT);
    expect(await axeViolations(beaPage)).toEqual([]);

    // A wrong name deletes nothing.
    await dialog.getByLabel('Name of the workspace to delete').fill(WORKSPACE);
    await dialog.getByRole('button', { name: 'Delete workspace' }).click();
    await dialog.getByText("That is not the workspace's name.", { exact: false }).waitFor(UI_WAIT);
    expect(await axeViolations(beaPage)).toEqual([]);
    expect((await inviteeDesktop.call('members.list', { workspaceId })).status).toBe(200);

    await dialog.getByLabel('Name of the workspace to delete').fill(RENAMED);
    await dialog.getByRole('button', { name: 'Delete workspace' }).click();
    await beaPage.getByText('No workspace yet.').waitFor(UI_WAIT);
    // The one who deleted it is told it is deleted, not that they were dropped from it.
    await beaPage.getByText(`Workspace "${RENAMED}" deleted.`).waitFor(UI_WAIT);
    expect(await beaPage.getByText(`You are no longer a member of ${RENAMED}.`).count()).toBe(0);
    expect(await axeViolations(beaPage)).toEqual([]);
    // Olga's window drops it live and says so.
    await olgaPage.getByText(`You are no longer a member of ${RENAMED}.`).waitFor(UI_WAIT);
    await expect(call('GET', `/v1/workspaces/${workspaceId}`, await login(olga))).rejects.toThrow(/HTTP 404/);
  },
  180_000,
);

it.skipIf(skip)(
  'a member leaves from the Overview; the owner sees it without a reload',
  async () => {
    const invited = await owner.t.call('invitations.create', {
      workspaceId: olgaAlone,
      email: bea.email,
      role: 'member',
    });
    expect(invited.status).toBe(200);
    // Pasted as the invitation mail's line.
    await beaPage.getByLabel('Invitation code or link').fill(`Code: ${String(invited.body.token)}`);
    await beaPage.getByRole('button', { name: 'Accept invitation' }).click();
    await beaPage.getByRole('button', { name: /Olga alone \(Member\)/ }).waitFor(UI_WAIT);

    const members = await openTeam(owner, 'Olga alone', 'Members');
    const list = members.getByRole('list', { name: 'People in Olga alone' });
    await list.getByText(bea.email, { exact: true }).waitFor(UI_WAIT);

    await beaPage.getByRole('button', { name: 'Leave this workspace' }).click();
    const dialog = beaPage.getByRole('alertdialog');
    await dialog.getByText('An owner can invite you again.', { exact: false }).waitFor(UI_WAIT);
    expect(await axeViolations(beaPage)).toEqual([]);
    await dialog.getByRole('button', { name: 'Leave workspace' }).click();
    await beaPage.getByText('You are no longer a member of Olga alone.').waitFor(UI_WAIT);
    await beaPage.getByText('No workspace yet.').waitFor(UI_WAIT);
    expect(await axeViolations(beaPage)).toEqual([]);
    await expect.poll(() => list.getByText(bea.email, { exact: true }).count(), UI_WAIT).toBe(0);
    await members.close();
  },
  120_000,
);
