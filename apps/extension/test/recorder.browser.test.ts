import type { Recording, RecordingSummary } from '@multiclaw/protocol';
import { chromiumMissing } from '@multiclaw/test-support/browser';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  buildExtension,
  type ExtensionBrowser,
  extensionStorage,
  launchWithExtension,
} from './support/extension-browser.js';
import {
  everythingStored,
  type RecorderGateway,
  removeState,
  startRecorderGateway,
} from './support/gateway.js';
import { startRecording, stopRecording } from './support/popup.js';
import { SECRETS, startTestSite, type TestSite } from './support/test-pages.js';

/**
 * The extension in real Chromium against a real gateway and pages served
 * here, as a person uses it: pair in the popup, browse, record, stop.
 */
const skip = chromiumMissing('recorder.browser.test.ts');

let browser: ExtensionBrowser;
let gateway: RecorderGateway;
let site: TestSite;
let foreignSite: TestSite;
let popup: Page;

const recordings = (): RecordingSummary[] => gateway.gateway.recordings.list();
const recording = (id: string): Promise<Recording> => gateway.gateway.recordings.get(id);
const settle = { timeout: 20_000, interval: 100 };

/** A round trip through the service worker: every message a page sent before it has been handled. */
async function throughWorker(): Promise<void> {
  await popup.evaluate(() => chrome.runtime.sendMessage({ type: 'status?' }));
}

/**
 * Waits until the worker has numbered `count` steps of the current session,
 * as the popup's counter shows a person: a page's message to the worker is
 * asynchronous, so a click has not been recorded yet when Playwright's
 * `click` returns.
 */
async function stepsRecorded(count: number): Promise<void> {
  await expect
    .poll(
      () =>
        popup.evaluate(
          async () => ((await chrome.runtime.sendMessage({ type: 'status?' })) as { steps: number }).steps,
        ),
      settle,
    )
    .toBe(count);
}

/** The steps the gateway holds for the recording of that name (none while it has not arrived). */
async function storedSteps(name: string): Promise<Recording['steps']> {
  const summary = recordings().find((item) => item.name === name);
  return summary ? (await recording(summary.id)).steps : [];
}

// Read in the popup page, an extension page like the worker: the worker's handle goes stale when it restarts.
async function outbox(): Promise<unknown[]> {
  return popup.evaluate(async () => ((await chrome.storage.local.get('outbox')).outbox as unknown[]) ?? []);
}

async function badge(): Promise<string> {
  return popup.evaluate(() => chrome.action.getBadgeText({}));
}

/** Types into a field as a person does, then leaves it (Tab): the field's `change` is the final value. */
async function typeInto(page: Page, selector: string, text: string): Promise<void> {
  await page.click(selector);
  await page.keyboard.type(text);
  await page.keyboard.press('Tab');
}

/** Everything a person does on the sign-in page: fields, a plain button, then the submit. */
async function signIn(page: Page): Promise<void> {
  await page.goto(`${site.origin}/form`);
  await typeInto(page, '#user', 'ada@example.com');
  await typeInto(page, '#pw', SECRETS.password);
  await typeInto(page, '#card', SECRETS.card);
  await typeInto(page, '#api', SECRETS.apiToken);
  await typeInto(page, '#otp', SECRETS.otp);
  await page.click('#plain');
  await Promise.all([page.waitForURL(`${site.origin}/done`), page.click('#go')]);
}

const brief = (step: Recording['steps'][number]) =>
  step.kind === 'navigation' || step.kind === 'tab-switch'
    ? `${step.kind} ${new URL(step.url).pathname}`
    : step.kind === 'input'
      ? `input ${step.selector} ${step.masked ? '[masked]' : step.value}`
      : `${step.kind} ${step.selector}`;

describe.skipIf(skip)('the recorder extension in Chromium', () => {
  beforeAll(async () => {
    buildExtension();
    gateway = await startRecorderGateway();
    foreignSite = await startTestSite();
    site = await startTestSite(foreignSite.origin);
    browser = await launchWithExtension();
    popup = await browser.openPopup();
  });

  // A test that failed in the middle of a recording must not leave it on for the next one.
  afterEach(async () => {
    const status = (await popup.evaluate(() => chrome.runtime.sendMessage({ type: 'status?' }))) as {
      recording: boolean;
    };
    if (status.recording) await stopRecording(popup);
  });

  afterAll(async () => {
    await browser?.close();
    await gateway?.stop();
    await site?.close();
    await foreignSite?.close();
    if (gateway) await removeState(gateway.stateDir);
  });

  it('pairs from the popup with a code from the gateway, on the port the person gives', async () => {
    await expect.poll(() => popup.getByLabel('Gateway port').inputValue(), settle).toBe('18789');
    const { code } = gateway.gateway.extension.issueCode();
    await popup.getByLabel('Gateway port').fill(String(gateway.port));
    await popup.getByLabel('Pairing code').fill(code);
    await popup.getByRole('button', { name: 'Pair' }).click();
    await expect
      .poll(() => popup.getByText(`Paired with the gateway on port ${gateway.port}.`).isVisible(), settle)
      .toBe(true);
    expect(gateway.gateway.extension.list().map((pairing) => pairing.origin)).toEqual([browser.origin]);
    expect((await gateway.gateway.config.current()).gateway.allowedOrigins).toEqual([browser.origin]);
  });

  it('captures, queues and sends nothing while no recording is on', async () => {
    const page = await browser.context.newPage();
    await signIn(page);
    await page.goto(`${site.origin}/other`);
    await page.click('#other-button');
    const second = await browser.context.newPage();
    await second.goto(`${site.origin}/form`);
    await page.bringToFront();
    await second.bringToFront();
    await second.click('#plain');
    await throughWorker();

    expect(recordings()).toEqual([]);
    expect(await outbox()).toEqual([]);
    const storage = await extensionStorage(popup);
    expect(storage.session).not.toContain('recordingId');
    for (const value of ['ada@example.com', '#plain', '/other']) expect(storage.local).not.toContain(value);
    expect(await badge()).toBe('');
    await page.close();
    await second.close();
  });

  it('records clicks, inputs (sensitive ones masked), the submit and the navigation, in order, and delivers before Stop', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${site.origin}/other`);
    await startRecording(popup, 'Sign in to the shop');
    expect(await badge()).toBe('REC');
    await page.bringToFront();
    await signIn(page);

    // Delivered while still recording: the worker batches and sends on its own.
    await expect.poll(() => recordings()[0]?.stepCount ?? 0, settle).toBeGreaterThanOrEqual(11);
    await expect.poll(() => popup.getByText(/^Recording: \d+ steps$/).isVisible(), settle).toBe(true);
    await stepsRecorded(16);
    await stopRecording(popup);
    expect(await badge()).toBe('');
    expect(await outbox()).toEqual([]);

    const [summary] = recordings();
    const stored = await recording(summary?.id as string);
    expect(stored.name).toBe('Sign in to the shop');
    expect(stored.steps.map(brief)).toEqual([
      'tab-switch /other',
      'navigation /form',
      'click #user',
      'input #user ada@example.com',
      'click #pw',
      'input #pw [masked]',
      'click #card',
      'input #card [masked]',
      'click #api',
      'input #api [masked]',
      'click #otp',
      'input #otp [masked]',
      'click #plain',
      'click #go',
      'submit #login',
      'navigation /done',
    ]);
    expect(stored.steps.map((step) => step.seq)).toEqual(stored.steps.map((_, index) => index + 1));
    const plain = stored.steps.find((step) => step.kind === 'click' && step.selector === '#plain');
    expect(plain).toMatchObject({ role: 'button', text: 'Say hello' });
    expect(stored.steps.find((step) => step.kind === 'input' && step.selector === '#pw')).toMatchObject({
      role: 'textbox',
      text: 'Password',
      masked: true,
    });

    // The masked values are nowhere: not in the gateway's files, its logs, or the extension's storage.
    const everywhere = [
      await everythingStored(gateway.stateDir),
      JSON.stringify(gateway.logs),
      JSON.stringify(await extensionStorage(popup)),
    ].join('\n');
    expect(everywhere).toContain('ada@example.com'); // the search would find a value
    for (const secret of Object.values(SECRETS)) expect(everywhere).not.toContain(secret);
    expect(everywhere).not.toContain(SECRETS.card.replaceAll(' ', ''));
    await page.close();
  });

  it('records nothing further after Stop', async () => {
    const before = recordings();
    const page = await browser.context.newPage();
    await signIn(page);
    await page.goto(`${site.origin}/other`);
    await throughWorker();
    expect(recordings()).toEqual(before);
    expect(await outbox()).toEqual([]);
    await page.close();
  });

  it('records every tab while a session is on, each step with its own tab', async () => {
    const first = await browser.context.newPage();
    await first.goto(`${site.origin}/other`);
    const second = await browser.context.newPage();
    await second.goto(`${site.origin}/form`);
    await startRecording(popup, 'Two tabs');
    await first.bringToFront();
    await first.click('#other-button');
    await stepsRecorded(2);
    await second.bringToFront();
    await second.click('#plain');
    await stepsRecorded(4);
    await stopRecording(popup);

    await expect.poll(async () => (await storedSteps('Two tabs')).length, settle).toBe(4);
    const steps = await storedSteps('Two tabs');
    expect(steps.map(brief)).toEqual([
      'tab-switch /other',
      'click #other-button',
      'tab-switch /form',
      'click #plain',
    ]);
    expect(steps[0]?.tabId).toBe(steps[1]?.tabId);
    expect(steps[2]?.tabId).toBe(steps[3]?.tabId);
    expect(steps[0]?.tabId).not.toBe(steps[2]?.tabId);
    await first.close();
    await second.close();
  });

  it('loses nothing when Chrome stops the service worker in the middle of a session', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${site.origin}/other`);
    await startRecording(popup, 'Across a worker restart');
    await page.bringToFront();
    await page.click('#other-button');
    await stepsRecorded(2);
    // Nothing else may start a worker here: the delivery alarm would (each new worker sets it again).
    await popup.evaluate(() => chrome.alarms.clearAll());
    // Chrome stops an idle worker between events, as here. The pages being recorded start a
    // new one at once, before the person does anything (a worker started by the click itself
    // could come too late for a click that leaves the page: its message would go with the page).
    const { running } = await browser.stopWorker();
    await Promise.race([
      running,
      new Promise((_, reject) => setTimeout(() => reject(new Error('no page started a new worker')), 60_000)),
    ]);
    await page.click('#to-form');
    await page.waitForURL(`${site.origin}/form`);
    await page.click('#plain');
    await stepsRecorded(5);
    await stopRecording(popup);

    await expect.poll(async () => (await storedSteps('Across a worker restart')).length, settle).toBe(5);
    const stored = { steps: await storedSteps('Across a worker restart') };
    expect(stored.steps.map(brief)).toEqual([
      'tab-switch /other',
      'click #other-button',
      'click #to-form',
      'navigation /form',
      'click #plain',
    ]);
    expect(stored.steps.map((step) => step.seq)).toEqual([1, 2, 3, 4, 5]);
    await page.close();
  });

  it("keeps the token and the outbox out of reach of content scripts (they run in pages' renderers)", async () => {
    const page = await browser.context.newPage();
    await page.goto(`${site.origin}/other`);
    const tabId = await popup.evaluate(async (url) => (await chrome.tabs.query({ url }))[0]?.id, page.url());
    // Code in the content scripts' own world, where a compromised renderer would be.
    const seen = await popup.evaluate(async (id) => {
      const [result] = await chrome.scripting.executeScript({
        target: { tabId: id as number },
        world: 'ISOLATED',
        func: async () => {
          const attempt = async (area: chrome.storage.StorageArea) => {
            try {
              return JSON.stringify(await area.get(null));
            } catch (error) {
              return `refused: ${(error as Error).message}`;
            }
          };
          return {
            local: await attempt(chrome.storage.local),
            session: await attempt(chrome.storage.session),
          };
        },
      });
      return result?.result as { local: string; session: string };
    }, tabId);
    expect(seen.local).toMatch(/^refused/);
    expect(seen.session).toMatch(/^refused/);
    // Not hollow: the extension's own page reads the pairing there.
    expect((await extensionStorage(popup)).local).toContain('mcx_');
    await page.close();
  });

  it('gives a hostile page nothing: no messaging, no resources, and forged events are not recorded', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${site.origin}/hostile`);
    // Not recording: the page cannot start a recording.
    const idle = await page.evaluate(
      (id) => (window as unknown as { attack(id: string): Promise<unknown> }).attack(id),
      browser.extensionId,
    );
    expect(idle).toEqual({ runtime: 'no chrome.runtime', fetch: 'blocked' });
    await throughWorker();
    expect(await badge()).toBe('');
    const count = recordings().length;

    await startRecording(popup, 'Hostile page');
    await page.bringToFront();
    const during = await page.evaluate(
      (id) => (window as unknown as { attack(id: string): Promise<unknown> }).attack(id),
      browser.extensionId,
    );
    expect(during).toEqual({ runtime: 'no chrome.runtime', fetch: 'blocked' });
    await page.click('#target'); // the one real click
    await stepsRecorded(2);
    await stopRecording(popup);
    await expect.poll(() => recordings().length, settle).toBe(count + 1);
    const stored = await recording(recordings().find((item) => item.name === 'Hostile page')?.id as string);
    expect(stored.steps.map(brief)).toEqual(['tab-switch /hostile', 'click #target']);
    await page.close();
  });

  it('ignores frames of other origins unless the person opts in', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${site.origin}/frames`);
    const sameFrame = page.frameLocator('#same');
    const foreignFrame = page.frameLocator('#foreign');
    await sameFrame.locator('#inner-button').waitFor();
    await foreignFrame.locator('#inner-button').waitFor();

    await startRecording(popup, 'Frames, default');
    await page.bringToFront();
    await foreignFrame.locator('#inner-button').click();
    await sameFrame.locator('#inner-button').click();
    await page.click('#top-button');
    await stepsRecorded(3);
    await stopRecording(popup);

    await popup.getByLabel('Also record inside frames from other sites').check();
    await startRecording(popup, 'Frames, opted in');
    await page.bringToFront();
    await foreignFrame.locator('#inner-button').click();
    await stepsRecorded(2);
    await stopRecording(popup);
    await popup.getByLabel('Also record inside frames from other sites').uncheck();

    const byName = async (name: string) =>
      (await recording(recordings().find((item) => item.name === name)?.id as string)).steps;
    await expect.poll(async () => (await byName('Frames, opted in')).length, settle).toBe(2);
    const defaults = await byName('Frames, default');
    expect(defaults.map(brief)).toEqual(['tab-switch /frames', 'click #inner-button', 'click #top-button']);
    expect(new URL(defaults[1]?.url as string).origin).toBe(site.origin);
    const optedIn = await byName('Frames, opted in');
    expect(new URL(optedIn[1]?.url as string).origin).toBe(foreignSite.origin);
    await page.close();
  });

  it('is refused once unpaired at the gateway: steps wait in the queue and the popup says so', async () => {
    const [pairing] = gateway.gateway.extension.list();
    await gateway.gateway.extension.unpair(pairing?.id as string);
    expect((await gateway.gateway.config.current()).gateway.allowedOrigins).toEqual([]);
    const count = recordings().length;

    const page = await browser.context.newPage();
    await page.goto(`${site.origin}/other`);
    await startRecording(popup, 'After unpair');
    await page.bringToFront();
    await page.click('#other-button');
    await stopRecording(popup);
    await expect.poll(() => popup.getByText(/2 steps waiting: not paired/).isVisible(), settle).toBe(true);
    expect(recordings().length).toBe(count);
    expect(await outbox()).toHaveLength(2);

    await popup.getByRole('button', { name: 'Unpair' }).click();
    await expect.poll(() => popup.getByRole('button', { name: 'Pair' }).isVisible(), settle).toBe(true);
    expect((await extensionStorage(popup)).local).not.toContain('mcx_');
    await page.close();
  });
});
