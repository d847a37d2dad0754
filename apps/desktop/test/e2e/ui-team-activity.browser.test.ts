import { readFile, stat } from 'node:fs/promises';
import type { AuditLogEntry, ErrorEnvelope } from '@multiclaw/protocol';
import { chromiumMissing } from '@multiclaw/test-support/browser';
import { jsonCaller } from '@multiclaw/test-support/json-http';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestCloud, type TestCloud } from '../../../gateway/test/support/cloud.js';
import {
  openTeam,
  type Person,
  registerPerson,
  serveWorkspaceAgentsLocally,
  signInHost,
} from './team-harness.js';
import { axeViolations, startUiWorld } from './ui-harness.js';

/**
 * The Team screen's activity sections against a real cloud (real PostgreSQL)
 * and this world's real gateway: the owner links this computer (the gateway
 * shows online without a reload), chats with a workspace agent (the synced
 * conversation appears live, is read, grows live, is deleted), unlinks; the
 * member links the same computer and sees only their own conversation, and
 * their host is refused the owner's audit log; the owner filters and exports
 * the log and revokes the member's gateway.
 */
const skip = chromiumMissing('ui-team-activity.browser.test.ts');
const MODEL_KEY = 'sk-team-activity-model-key';
const WORKSPACE = 'Studio';
const WAIT = { timeout: 60_000 };
let cloud: TestCloud;
let world: Awaited<ReturnType<typeof startUiWorld>>;
let owner: Person;
let member: Person;
let workspaceId: string;
let agentId: string;

beforeAll(async () => {
  if (skip) return;
  cloud = await startTestCloud();
  world = await startUiWorld({ apiKey: MODEL_KEY });
  await serveWorkspaceAgentsLocally(world);
  owner = await registerPerson(cloud, 'owner');
  member = await registerPerson(cloud, 'member');
  const call = jsonCaller(cloud.url);
  workspaceId = (await call<{ id: string }>('POST', '/v1/workspaces', owner.token, { name: WORKSPACE })).id;
  const invitation = await call<{ token: string }>(
    'POST',
    `/v1/workspaces/${workspaceId}/invitations`,
    owner.token,
    {
      email: member.email,
      role: 'member',
    },
  );
  await call('POST', '/v1/invitations/accept', member.token, { token: invitation.token });
  const agent = await cloud.api.agent(owner.token, workspaceId, {
    name: 'Planner',
    provider: 'openai-compatible',
    model: 'gpt-test',
  });
  agentId = agent.id;
  await cloud.api.secret(owner.token, workspaceId, {
    name: 'MODEL_KEY',
    value: MODEL_KEY,
    agentIds: [agentId],
  });
}, 240_000);
afterAll(async () => {
  if (skip) return;
  await world?.close();
  await cloud?.drop();
}, 60_000);

/** Signs the host in as `person` (out of whoever was in), and opens the workspace's `section`. */
async function as(person: Person, section: string): Promise<Page> {
  await world.t.call('account.signOut');
  await signInHost(world, cloud, person);
  return openTeam(world, WORKSPACE, section);
}

/** Links this world's gateway through the host, as the Overview's button does. */
async function linkThisComputer(): Promise<string> {
  const linked = await world.t.call('gateways.linkThisComputer', { workspaceId });
  expect(linked.status, JSON.stringify(linked.body)).toBe(200);
  return (linked.body as { gatewayId: string }).gatewayId;
}

/** A message to the workspace agent through the host, once its agent and credential have come over the link. */
async function chat(message: string, sessionKey?: string): Promise<string> {
  const answer = await vi.waitFor(
    async () => {
      const sent = await world.t.call('chat.send', {
        agentId,
        message,
        ...(sessionKey ? { sessionKey } : {}),
      });
      expect(sent.status, JSON.stringify(sent.body)).toBe(200);
      return sent;
    },
    { timeout: 60_000, interval: 500 },
  );
  const key = (answer.body as { sessionKey: string }).sessionKey;
  // The reply finished, so both messages are in the outbox.
  await vi.waitFor(
    async () => {
      const history = (await world.t.call('chat.history', { sessionKey: key })).body as {
        messages: { role: string; status?: string }[];
      };
      expect(history.messages.at(-1)).toMatchObject({ role: 'assistant', status: 'complete' });
    },
    { timeout: 60_000, interval: 300 },
  );
  return key;
}

/** Whether the cloud has every message of this gateway (nothing pending). */
async function synced(): Promise<void> {
  await vi.waitFor(() => expect(world.t.gateway?.sync.status()).toMatchObject({ pending: 0 }), WAIT);
}

async function cloudAudit(token: string, query: string): Promise<AuditLogEntry[]> {
  const call = jsonCaller(cloud.url);
  const all: AuditLogEntry[] = [];
  let cursor: string | null = null;
  do {
    const page: { items: AuditLogEntry[]; nextCursor: string | null } = await call(
      'GET',
      `/v1/workspaces/${workspaceId}/audit?limit=100${query}${cursor ? `&cursor=${cursor}` : ''}`,
      token,
    );
    all.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return all;
}

async function refused(command: string, input: Record<string, unknown>): Promise<void> {
  const answer = await world.t.call(command, input);
  expect([403, 404], `${command}: ${JSON.stringify(answer.body)}`).toContain(answer.status);
  expect((answer.body as ErrorEnvelope).error.code).toMatch(/^FORBIDDEN$|NOT_FOUND$/);
}

let ownersKept: string;

describe.skipIf(skip)('the Team screen, live: gateways, transcripts, audit', () => {
  it('the owner links this computer and sees its gateway go online without a reload', async () => {
    const page = await as(owner, 'Gateways');
    await page.getByText('No gateway is linked to this workspace yet.').waitFor(WAIT);
    expect(await axeViolations(page)).toEqual([]);

    const gatewayId = await linkThisComputer();
    const card = page.getByRole('listitem').filter({ hasText: '(this computer)' });
    await card.getByText('Online').waitFor(WAIT);
    expect(await card.getByRole('button', { name: 'Unlink this computer' }).count()).toBe(1);
    expect(await card.textContent()).toContain('Linked by You');
    expect(world.t.gateway?.link.status().gatewayId).toBe(gatewayId);
    expect(await axeViolations(page)).toEqual([]);
    await page.close();
  }, 180_000);

  it('a conversation with a workspace agent appears live, is read as it grows, and is deleted (the local copy stays)', async () => {
    const page = await openTeam(world, WORKSPACE, 'Transcripts');
    await page.getByText('No synced conversation yet.').waitFor(WAIT);
    expect(await axeViolations(page)).toEqual([]);

    const launch = await chat('Plan the launch, please');
    await page
      .getByRole('listitem')
      .filter({ hasText: 'Plan the launch' })
      .getByText('2 messages')
      .waitFor(WAIT);
    expect(await page.getByRole('listitem').filter({ hasText: 'Plan the launch' }).textContent()).toContain(
      'With Planner',
    );
    await page.getByRole('button', { name: /^Read Plan the launch/ }).click();
    const log = page.getByRole('log', { name: 'Messages' });
    await log.getByText('Plan the launch, please').waitFor(WAIT);
    await log.getByText('Hello from **the agent**.').waitFor(WAIT);
    expect(await axeViolations(page)).toEqual([]);

    // A new turn in the same conversation shows in the open conversation, live.
    await chat('And the budget?', launch);
    await log.getByText('And the budget?').waitFor(WAIT);
    await vi.waitFor(async () => expect(await log.getByRole('article').count()).toBe(4), WAIT);

    // Another conversation the owner keeps (the member must never see it).
    await chat('Budget review notes');
    await synced();
    await page.getByRole('button', { name: 'Back to the conversations' }).click();
    await page.getByRole('listitem').filter({ hasText: 'Budget review' }).waitFor(WAIT);
    const listed = (await world.t.call('transcripts.list', { workspaceId })).body as {
      items: { id: string; title: string | null }[];
    };
    ownersKept = listed.items.find((item) => item.title?.startsWith('Budget review'))?.id ?? '';
    expect(ownersKept).not.toBe('');

    await page.getByRole('button', { name: /^Delete Plan the launch/ }).click();
    const dialog = page.getByRole('alertdialog');
    expect(await dialog.textContent()).toContain('local copy');
    expect(await axeViolations(page)).toEqual([]);
    await dialog.getByRole('button', { name: 'Delete conversation' }).click();
    await page
      .getByText(/is deleted from Studio\. The copy on the computer that synced it stays\./)
      .waitFor(WAIT);
    expect(await page.getByRole('listitem').filter({ hasText: 'Plan the launch' }).count()).toBe(0);
    // Still on this computer.
    const local = (await world.t.call('chat.history', { sessionKey: launch })).body as {
      messages: unknown[];
    };
    expect(local.messages).toHaveLength(4);
    await page.close();

    // History marks it: a workspace agent's conversation syncs to the linked workspace.
    const history = await world.browser.newPage();
    await history.goto(world.t.desktop.windowUrl('main'));
    await history.getByRole('tab', { name: 'History' }).click();
    await history
      .getByRole('listitem')
      .filter({ hasText: 'Budget review' })
      .getByText(/Synced to Studio/)
      .waitFor(WAIT);
    expect(await axeViolations(history)).toEqual([]);
    await history.close();
  }, 300_000);

  it('the owner unlinks this computer: its gateway is revoked in the workspace', async () => {
    const page = await openTeam(world, WORKSPACE, 'Gateways');
    const card = page.getByRole('listitem').filter({ hasText: '(this computer)' });
    await card.getByRole('button', { name: 'Unlink this computer' }).click();
    const dialog = page.getByRole('alertdialog');
    expect(await axeViolations(page)).toEqual([]);
    await dialog.getByRole('button', { name: 'Unlink this computer' }).click();
    await page.getByText(/This computer is unlinked from Studio/).waitFor(WAIT);
    await page
      .getByRole('listitem')
      .getByText(/^Revoked /)
      .waitFor(WAIT);
    expect(await page.getByText('(this computer)').count()).toBe(0);
    await vi.waitFor(() => expect(world.t.gateway?.link.status().state).toBe('not linked'), WAIT);
    expect(await axeViolations(page)).toEqual([]);
    // Nothing left to unlink: refused in words, nothing run.
    const again = await world.t.call('gateways.unlinkThisComputer', { workspaceId });
    expect(again.status).toBe(409);
    expect((again.body as ErrorEnvelope).error.message).toMatch(/not linked to any workspace/);
    await page.close();
  }, 180_000);

  it("a member links the same computer and sees only their own gateway and conversation; their host is refused the owner's", async () => {
    const page = await as(member, 'Gateways');
    await page.getByText('No gateway is linked to this workspace yet.').waitFor(WAIT);
    expect(await page.getByRole('tab', { name: 'Audit log' }).count()).toBe(0);
    await linkThisComputer();
    await page.getByRole('listitem').filter({ hasText: '(this computer)' }).getByText('Online').waitFor(WAIT);
    expect(await axeViolations(page)).toEqual([]);

    await chat('Member draft');
    await synced();
    await page.getByRole('tab', { name: 'Transcripts' }).click();
    await page.getByRole('listitem').filter({ hasText: 'Member draft' }).waitFor(WAIT);
    expect(await page.getByRole('list', { name: 'Synced conversations' }).getByRole('listitem').count()).toBe(
      1,
    );
    expect(await page.getByText('Budget review').count()).toBe(0);
    expect(await page.getByRole('button', { name: /Person/ }).count()).toBe(0);
    expect(await axeViolations(page)).toEqual([]);
    await page.close();

    // The host asks the cloud as the member: the owner's conversation and the audit log are refused.
    const theirs = (await world.t.call('transcripts.list', { workspaceId, userId: owner.id })).body as {
      items: unknown[];
    };
    expect(theirs.items).toEqual([]);
    await refused('transcripts.read', { workspaceId, conversationId: ownersKept });
    await refused('transcripts.delete', { workspaceId, conversationId: ownersKept });
    await refused('audit.list', { workspaceId });
    await refused('audit.export', { workspaceId, format: 'csv' });

    // "Unlink this computer" asked from another workspace never unlinks this one's link.
    const elsewhere = (
      await jsonCaller(cloud.url)<{ id: string }>('POST', '/v1/workspaces', member.token, {
        name: 'Elsewhere',
      })
    ).id;
    const wrong = await world.t.call('gateways.unlinkThisComputer', { workspaceId: elsewhere });
    expect(wrong.status).toBe(409);
    expect((wrong.body as ErrorEnvelope).error.message).toMatch(/linked to another workspace/);
    expect(world.t.gateway?.link.status()).toMatchObject({ state: 'online', workspaceId });
  }, 300_000);

  it('the owner filters the audit log by days, person and event type, and exports it', async () => {
    const page = await as(owner, 'Audit log');
    await page.getByRole('table', { name: 'Audit entries' }).waitFor(WAIT);
    expect(await axeViolations(page)).toEqual([]);

    const today = new Date().toLocaleDateString('en-CA');
    const tomorrow = new Date(Date.now() + 86_400_000).toLocaleDateString('en-CA');
    await page.getByLabel('From (day)').fill(tomorrow);
    await page.getByText('No entry matches these filters.').waitFor(WAIT);
    expect(await axeViolations(page)).toEqual([]);
    await page.getByLabel('From (day)').fill(today);
    await page.getByLabel('To (day, included)').fill(today);
    await page.getByRole('button', { name: /Person/ }).click();
    await page.getByRole('option', { name: member.email }).click();
    await page.getByRole('button', { name: /Event type/ }).click();
    await page.getByRole('option', { name: 'Gateways' }).click();

    const expected = await cloudAudit(owner.token, `&actor=${member.id}&action=gateway.`);
    expect(expected.length).toBeGreaterThan(0);
    const rows = page.getByRole('table', { name: 'Audit entries' }).locator('tbody tr');
    await vi.waitFor(async () => expect(await rows.count()).toBe(expected.length), WAIT);
    for (const text of await rows.allTextContents()) expect(text).toMatch(/gateway\./);
    expect(await axeViolations(page)).toEqual([]);

    await page.getByRole('button', { name: 'Export as CSV' }).click();
    const saved = page.getByText(/^Saved \d+ entr(y|ies) as CSV to /);
    await saved.waitFor(WAIT);
    const path = ((await saved.textContent()) ?? '').replace(/^Saved .* as CSV to /, '');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const lines = (await readFile(path, 'utf8')).split('\r\n').filter(Boolean);
    expect(lines[0]?.startsWith('seq,id,createdAt,actorKind,actorId,action')).toBe(true);
    expect(lines.slice(1).map((line) => line.split(',')[1])).toEqual(expected.map((entry) => entry.id));
    expect(await axeViolations(page)).toEqual([]);

    await page.getByRole('button', { name: 'Export as JSON' }).click();
    const json = page.getByText(/^Saved \d+ entr(y|ies) as JSON to /);
    await json.waitFor(WAIT);
    const jsonPath = ((await json.textContent()) ?? '').replace(/^Saved .* as JSON to /, '');
    const exported = JSON.parse(await readFile(jsonPath, 'utf8')) as AuditLogEntry[];
    expect(exported.map((entry) => entry.id)).toEqual(expected.map((entry) => entry.id));
    expect((await stat(jsonPath)).mode & 0o777).toBe(0o600);
    await page.close();
  }, 240_000);

  it("the owner reads the member's conversation by person, and revokes the member's gateway", async () => {
    const page = await openTeam(world, WORKSPACE, 'Transcripts');
    await page.getByRole('listitem').filter({ hasText: 'Budget review' }).waitFor(WAIT);
    await page.getByRole('button', { name: /Person/ }).click();
    await page.getByRole('option', { name: member.email }).click();
    await page.getByRole('listitem').filter({ hasText: 'Member draft' }).waitFor(WAIT);
    await vi.waitFor(async () => expect(await page.getByText('Budget review').count()).toBe(0), WAIT);
    expect(await page.getByRole('listitem').filter({ hasText: 'Member draft' }).textContent()).toContain(
      `by ${member.email}`,
    );
    expect(await axeViolations(page)).toEqual([]);

    await page.getByRole('tab', { name: 'Gateways' }).click();
    const theirs = page.getByRole('listitem').filter({ hasText: `Linked by ${member.email}` });
    await theirs.getByText('Online').waitFor(WAIT);
    await theirs.getByRole('button', { name: /^Revoke / }).click();
    await page.getByRole('alertdialog').getByRole('button', { name: 'Revoke gateway' }).click();
    await page.getByText(/is revoked: it can no longer reach Studio\./).waitFor(WAIT);
    await theirs.getByText(/^Revoked /).waitFor(WAIT);
    await vi.waitFor(() => expect(world.t.gateway?.link.status().state).toBe('revoked'), WAIT);
    expect(await axeViolations(page)).toEqual([]);
    await page.close();
  }, 180_000);
});
