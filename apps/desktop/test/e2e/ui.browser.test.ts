import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromiumMissing, startPageServer } from '@multiclaw/test-support/browser';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { axeViolations, startUiWorld } from './ui-harness.js';

/**
 * A person uses the desktop window in a real Chromium, by role and label:
 * adds a provider key, creates an agent, chats (streamed), stops a reply,
 * retries, finds the conversation in history; the window keeps no secret or
 * key anywhere, its CSP holds, and axe finds nothing serious on any screen.
 */
const skip = chromiumMissing('ui.browser.test.ts');
const API_KEY = 'sk-ui-e2e-4f9c2b7d1e8a6035';
const NEW_KEY = 'sk-ui-e2e-replaced-90b1c3d5e7f2';
const LONG = 60_000;

let world: Awaited<ReturnType<typeof startUiWorld>>;
let page: Page;
let secret: string;
const cspViolations: string[] = [];

async function section(name: string) {
  await page.getByRole('tab', { name }).click();
  await page.getByRole('heading', { level: 2, name }).waitFor();
}
async function expectAccessible(screen: string) {
  expect(await axeViolations(page), `axe on ${screen}`).toEqual([]);
}

beforeAll(async () => {
  if (skip) return;
  world = await startUiWorld({ apiKey: API_KEY });
  secret = world.t.desktop.secretOf('main');
  page = await world.browser.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error' && message.text().includes('Content Security Policy'))
      cspViolations.push(message.text());
  });
  await page.goto(world.t.desktop.windowUrl('main'));
}, 120_000);
afterAll(async () => {
  if (skip) return;
  await world.close();
});

describe.skipIf(skip)('the desktop window, as a person uses it', () => {
  it('is built as files only: no inline script or style, and a small bundle', async () => {
    const html = await readFile(join(world.ui.dir, 'index.html'), 'utf8');
    expect([...html.matchAll(/<script\b[^>]*>/g)].map((tag) => tag[0])).toEqual([
      expect.stringMatching(/^<script type="module" crossorigin src="\/assets\/index-[\w-]+\.js">$/),
    ]);
    expect(html).not.toMatch(/<style|style=|javascript:/i);
    const assets = await readdir(join(world.ui.dir, 'assets'));
    let gzipped = 0;
    for (const file of assets.filter((name) => name.endsWith('.js')))
      gzipped += gzipSync(await readFile(join(world.ui.dir, 'assets', file))).length;
    // React, React Aria, zod and the markdown parser: about 210 kB today.
    expect(gzipped).toBeLessThan(260 * 1024);
  });

  it('takes the secret out of the address bar and shows the running gateway', async () => {
    await page.getByText('Gateway running', { exact: true }).waitFor({ timeout: LONG });
    expect(page.url()).toBe(`${world.t.desktop.url}/`);
    const facts = page.locator('dl.facts');
    await expect.poll(() => facts.textContent()).toContain('Running');
    expect(await facts.textContent()).toContain(String(world.t.gateway?.port));
    expect(await facts.textContent()).toContain('No, it works on its own');
    await expectAccessible('Status');
  });

  it('walks the sections with the keyboard', async () => {
    await page.getByRole('tab', { name: 'Status' }).focus();
    await page.keyboard.press('ArrowDown');
    expect(await page.getByRole('tab', { name: 'Chat' }).getAttribute('aria-selected')).toBe('true');
    await page.getByRole('heading', { level: 2, name: 'Chat' }).waitFor();
    await page.keyboard.press('ArrowUp');
    expect(await page.getByRole('tab', { name: 'Status' }).getAttribute('aria-selected')).toBe('true');
  });

  it('adds a provider with its key; the key is never shown again, nor anywhere in the page', async () => {
    // The first steps on the Status screen lead there.
    await page.getByRole('button', { name: 'Go to Providers' }).click();
    await page.getByRole('heading', { level: 2, name: 'Providers' }).waitFor();
    await page.getByText('No model providers yet.').waitFor();
    await expectAccessible('Providers (empty)');
    await page.getByRole('button', { name: 'Add a provider' }).click();
    await page.getByLabel('Provider name').fill('local');
    await page.getByLabel('Address (base URL)').fill(world.provider.baseUrl);
    await page.getByLabel('API key').fill(API_KEY);
    await expectAccessible('Providers (add form)');
    await page.getByRole('button', { name: 'Save provider' }).click();
    await page.getByText('Provider "local" added with its key.').waitFor({ timeout: LONG });
    const card = page.getByRole('listitem', { name: 'Provider local' });
    expect(await card.textContent()).toContain('saved (hidden)');
    expect(await page.content()).not.toContain(API_KEY);
    const fieldValues = (await page.evaluate(
      '[...document.querySelectorAll("input, textarea")].map((field) => field.value)',
    )) as string[];
    expect(fieldValues.join('\n')).not.toContain(API_KEY);
    expect((await world.t.config.current()).models.providers.local?.apiKey).toBe(API_KEY);
    await expectAccessible('Providers');
  });

  it('creates an agent, allowed to use the key', async () => {
    await section('Agents');
    await page.getByText('No agents yet.').waitFor();
    await page.getByRole('button', { name: 'New agent' }).click();
    await page.getByLabel('Name').fill('Helper');
    await page.getByLabel('Model').fill('gpt-test');
    expect(
      await page.getByRole('checkbox', { name: "Let this agent use the provider's API key" }).isChecked(),
    ).toBe(true);
    await expectAccessible('Agents (new agent form)');
    await page.getByRole('button', { name: 'Create agent' }).click();
    await page.getByText('Agent "Helper" created.').waitFor({ timeout: LONG });
    const list = page.getByRole('list', { name: 'Agents' });
    await expect
      .poll(() => list.getByRole('listitem').allTextContents(), { timeout: LONG })
      .toEqual([expect.stringContaining('Helper')]);
    expect((await world.t.config.current()).models.providers.local?.allowedAgents).toEqual(['helper']);
    await expectAccessible('Agents');
  });

  it('chats: Shift+Enter is a new line, Enter sends, the reply streams in as safe markdown', async () => {
    await section('Chat');
    const box = page.getByRole('textbox', { name: 'Message' });
    await box.click();
    await page.keyboard.type('Hello there');
    await page.keyboard.press('Shift+Enter');
    await page.keyboard.type('<img src=x onerror="window.pwned=1">');
    expect(await box.inputValue()).toBe('Hello there\n<img src=x onerror="window.pwned=1">');
    expect(world.provider.requests).toHaveLength(0);
    world.replies.quick = ['Hello', ' from **the agent**', ' <img src=x onerror="window.pwned=2">', '.'];
    await page.keyboard.press('Enter');
    const reply = page.getByRole('article', { name: 'Helper replied' });
    await reply.getByText('the agent', { exact: true }).waitFor({ timeout: LONG });
    expect(await box.inputValue()).toBe('');
    // Markdown became elements; the HTML in the reply (and in the message) stayed text or was dropped.
    expect(await reply.locator('strong').textContent()).toBe('the agent');
    expect(await page.locator('.messages img').count()).toBe(0);
    expect(await page.evaluate('window.pwned')).toBeUndefined();
    expect(await page.getByRole('article', { name: 'You said' }).textContent()).toContain('onerror');
    // The key went to the provider from the gateway, never through the page.
    expect(world.provider.requests.at(-1)?.headers.authorization).toBe(`Bearer ${API_KEY}`);
    await expectAccessible('Chat');
  });

  it('stops a reply while it streams, then retries it', async () => {
    world.replies.mode = 'slow';
    const box = page.getByRole('textbox', { name: 'Message' });
    await box.fill('Count slowly please');
    await page.getByRole('button', { name: 'Send' }).click();
    const replies = page.getByRole('article', { name: 'Helper replied' });
    await replies.nth(1).getByText(/word0/).waitFor({ timeout: LONG });
    await page.getByRole('button', { name: 'Stop' }).click();
    await replies.nth(1).getByText('Stopped.').waitFor({ timeout: LONG });
    expect(await replies.nth(1).textContent()).not.toContain('word59');
    world.replies.mode = 'quick';
    world.replies.quick = ['Counted: ', 'one, two.'];
    await page.getByRole('button', { name: 'Retry' }).click();
    await replies.nth(2).getByText('Counted: one, two.').waitFor({ timeout: LONG });
    expect(await page.getByRole('button', { name: 'Retry' }).count()).toBe(0);
  });

  it('finds the conversation in history by a word of it, and opens it', async () => {
    await section('History');
    await page.getByRole('list', { name: 'Conversations' }).waitFor({ timeout: LONG });
    await expectAccessible('History');
    await page.getByRole('searchbox', { name: 'Search conversations' }).fill('Count slowly');
    await expect
      .poll(() => page.getByRole('list', { name: 'Conversations' }).getByRole('listitem').count(), {
        timeout: LONG,
      })
      .toBe(1);
    // Not linked to any workspace: the conversation stays on this computer, and says so.
    await page
      .getByRole('list', { name: 'Conversations' })
      .getByRole('listitem')
      .getByText('Local only')
      .waitFor({ timeout: LONG });
    await page.getByRole('searchbox', { name: 'Search conversations' }).fill('nothing says zebra-quartz');
    await page.getByText('No conversation matches "nothing says zebra-quartz".').waitFor({ timeout: LONG });
    await page.getByRole('searchbox', { name: 'Search conversations' }).fill('Hello there');
    const found = page.getByRole('list', { name: 'Conversations' }).getByRole('listitem');
    await expect.poll(() => found.count(), { timeout: LONG }).toBe(1);
    await found.getByRole('button', { name: /^Open/ }).click();
    await page.getByRole('heading', { level: 2, name: 'Chat' }).waitFor();
    const opened = page.getByRole('log');
    await opened.getByText('Counted: one, two.').waitFor({ timeout: LONG });
    expect(await opened.getByRole('article', { name: 'You said' }).first().textContent()).toContain(
      'Hello there',
    );
  });

  it('pages through many conversations', async () => {
    const before = (await world.t.call('sessions.list', { limit: 1 })).body.total as number;
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        world.t.call('chat.send', { agentId: 'helper', message: `Seeded conversation ${i}` }),
      ),
    );
    const total = before + 20;
    await expect
      .poll(async () => (await world.t.call('sessions.list', { limit: 1 })).body.total, { timeout: LONG })
      .toBe(total);
    await section('Settings');
    await section('History');
    await page.getByText(`Conversations 1–20 of ${total}`).waitFor({ timeout: LONG });
    await page.getByRole('button', { name: 'Older conversations' }).click();
    await page.getByText(`Conversations 21–${total} of ${total}`).waitFor({ timeout: LONG });
    // Past the search box's 300 ms pause: opening the screen is no new search, so the page stays.
    await page.waitForTimeout(600);
    expect(await page.getByText(`Conversations 21–${total} of ${total}`).count()).toBe(1);
    expect(await page.getByRole('button', { name: 'Older conversations' }).isDisabled()).toBe(true);
    await page.getByRole('button', { name: 'Newer conversations' }).click();
    await page.getByText(`Conversations 1–20 of ${total}`).waitFor({ timeout: LONG });
  }, 90_000);

  it('settings: saves local-only mode and an allowed origin, and shows where crash logs are', async () => {
    await section('Settings');
    await page.getByRole('switch', { name: 'Local only (never contact a cloud)' }).waitFor();
    await expectAccessible('Settings');
    await page.getByText('Local only (never contact a cloud)').click();
    expect(await page.getByRole('switch', { name: 'Local only (never contact a cloud)' }).isChecked()).toBe(
      true,
    );
    await page.getByLabel('Origins the gateway accepts (one a line)').fill('http://127.0.0.1:1420');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByText('Settings saved.').waitFor({ timeout: LONG });
    expect((await world.t.call('settings.get')).body).toEqual({
      cloudUrl: null,
      localOnly: true,
      gatewayAllowedOrigins: ['http://127.0.0.1:1420'],
    });
    expect(await page.locator('dl.facts').last().textContent()).toContain(world.t.desktop.paths.stateDir);
  });

  it('edits the agent, replaces and removes the key (never shown), and deletes the agent', async () => {
    await section('Agents');
    await page.getByRole('button', { name: 'Edit Helper' }).click();
    await page.getByLabel('Name').fill('Helper Two');
    await page.getByRole('button', { name: 'Save agent' }).click();
    await page.getByText('Agent "Helper Two" saved.').waitFor({ timeout: LONG });

    await section('Providers');
    await page.getByRole('button', { name: 'Replace key of local' }).click();
    await page.getByLabel('New API key for local').fill(NEW_KEY);
    await page.getByRole('button', { name: 'Save key' }).click();
    await page.getByText('The key of "local" was replaced.').waitFor({ timeout: LONG });
    expect((await world.t.config.current()).models.providers.local?.apiKey).toBe(NEW_KEY);
    expect(await page.content()).not.toContain(NEW_KEY);

    await section('Agents');
    await page.getByRole('button', { name: 'Delete Helper Two' }).click();
    const confirm = page.getByRole('alertdialog', { name: 'Delete Helper Two?' });
    await confirm.waitFor();
    await expectAccessible('Agents (delete dialog)');
    await confirm.getByRole('button', { name: 'Delete agent' }).click();
    await page.getByText('No agents yet.').waitFor({ timeout: LONG });

    await section('Providers');
    await page.getByRole('button', { name: 'Remove key of local' }).click();
    await page.getByText('The key of "local" was removed.').waitFor({ timeout: LONG });
    expect(await page.getByRole('listitem', { name: 'Provider local' }).textContent()).toContain(
      'none saved',
    );
    expect((await world.t.config.current()).models.providers.local?.apiKey).toBeUndefined();
  });

  it('keeps no token, secret or key in any storage, nor in the page', async () => {
    // Browser code as text: this file is type-checked for Node, without the DOM's types.
    const stored = (await page.evaluate(`(async () => ({
      local: localStorage.length,
      session: sessionStorage.length,
      cookie: document.cookie,
      databases: (await indexedDB.databases()).map((database) => database.name),
    }))()`)) as Record<string, unknown>;
    expect(stored).toEqual({ local: 0, session: 0, cookie: '', databases: [] });
    expect(await page.context().cookies()).toEqual([]);
    const html = await page.content();
    expect(html).not.toContain(API_KEY);
    expect(html).not.toContain(NEW_KEY);
    expect(html).not.toContain(secret);
    expect(page.url()).not.toContain(secret);
  });

  it('a reload loses the secret (it was only in memory): the window says so in plain words', async () => {
    const other = await world.browser.newPage();
    try {
      await other.goto(world.t.desktop.windowUrl('main'));
      await other.getByText('Gateway running', { exact: true }).waitFor({ timeout: LONG });
      await other.reload();
      await other
        .getByRole('alert')
        .filter({ hasText: 'This window is not signed in to the desktop host' })
        .first()
        .waitFor({ timeout: LONG });
      expect(await axeViolations(other)).toEqual([]);
    } finally {
      await other.close();
    }
  });

  it('its CSP refuses an injected inline script and a request to another origin', async () => {
    const elsewhere = await startPageServer();
    try {
      const outcome = await page.evaluate(`(async () => {
        const script = document.createElement('script');
        script.textContent = 'window.inlineRan = true;';
        document.body.append(script);
        let reached;
        try {
          // no-cors: without the CSP this resolves (an opaque answer); only connect-src stops it.
          await fetch(${JSON.stringify(`${elsewhere.origin}/`)}, { mode: 'no-cors' });
          reached = 'reached';
        } catch {
          reached = 'blocked';
        }
        return { inline: window.inlineRan ?? false, reached };
      })()`);
      expect(outcome).toEqual({ inline: false, reached: 'blocked' });
      await expect.poll(() => cspViolations.length).toBeGreaterThanOrEqual(2);
    } finally {
      await elsewhere.close();
    }
  });

  it('a window whose capabilities deny a command gets a plain refusal, and the handler never runs', async () => {
    const chat = await world.browser.newPage();
    try {
      await chat.goto(world.t.desktop.windowUrl('chat'));
      await chat.getByRole('tab', { name: 'Providers' }).click();
      await chat
        .getByRole('alert')
        .getByText('This window may not call "providers.list"')
        .waitFor({ timeout: LONG });
      expect(
        world.t.logs.lines.some(
          (line) =>
            line.msg === 'command denied' && line.command === 'providers.list' && line.window === 'chat',
        ),
      ).toBe(true);
    } finally {
      await chat.close();
    }
  });
});
