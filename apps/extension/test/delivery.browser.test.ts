import type { RecordingSummary } from '@multiclaw/protocol';
import { chromiumMissing } from '@multiclaw/test-support/browser';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildExtension, type ExtensionBrowser, launchWithExtension } from './support/extension-browser.js';
import { type RecorderGateway, removeState, startRecorderGateway } from './support/gateway.js';
import { startRecording, stopRecording } from './support/popup.js';
import { startTestSite, type TestSite } from './support/test-pages.js';

/** Delivery when the gateway is away: the outbox in storage.local, its 7-day limit. */
const skip = chromiumMissing('delivery.browser.test.ts');

let browser: ExtensionBrowser;
let gateway: RecorderGateway;
let site: TestSite;
let popup: Page;
const settle = { timeout: 30_000, interval: 100 };

const recordings = (): RecordingSummary[] => gateway.gateway.recordings.list();
const outbox = () =>
  popup.evaluate(async () => ((await chrome.storage.local.get('outbox')).outbox as unknown[]) ?? []);

async function record(name: string, page: Page, act: () => Promise<void>): Promise<void> {
  await startRecording(popup, name);
  await page.bringToFront();
  await act();
  await stopRecording(popup);
}

describe.skipIf(skip)('delivery to the gateway', () => {
  beforeAll(async () => {
    buildExtension();
    gateway = await startRecorderGateway();
    site = await startTestSite();
    browser = await launchWithExtension();
    popup = await browser.openPopup();
    const { code } = gateway.gateway.extension.issueCode();
    await popup.getByLabel('Gateway port').fill(String(gateway.port));
    await popup.getByLabel('Pairing code').fill(code);
    await popup.getByRole('button', { name: 'Pair' }).click();
    await popup.getByRole('button', { name: 'Unpair' }).waitFor({ timeout: 30_000 });
  });
  afterAll(async () => {
    await browser?.close();
    await gateway?.stop();
    await site?.close();
    if (gateway) await removeState(gateway.stateDir);
  });

  it('queues while the gateway is down, keeps the queue across a worker stop, and delivers everything once when it is back', async () => {
    const { port, stateDir, logs } = gateway;
    await gateway.stop();
    const page = await browser.context.newPage();
    await page.goto(`${site.origin}/other`);
    await record('While the gateway was down', page, async () => {
      await page.click('#other-button');
      await page.goto(`${site.origin}/form`);
      await page.click('#plain');
    });
    await expect
      .poll(() => popup.getByText(/4 steps waiting: gateway unreachable/).isVisible(), settle)
      .toBe(true);
    expect(await outbox()).toHaveLength(4);

    // Chrome stops the worker while the steps wait: they are in storage.local, not in its memory.
    await browser.stopWorker();
    // The same gateway (state, port) comes back; the popup's next look wakes a new worker, which delivers.
    gateway = await startRecorderGateway({ stateDir, port, logs });
    await popup.reload();
    await expect.poll(() => recordings()[0]?.stepCount ?? 0, settle).toBe(4);
    await expect.poll(outbox, settle).toEqual([]);
    await expect.poll(() => popup.getByText('All steps delivered').isVisible(), settle).toBe(true);
    const stored = await gateway.gateway.recordings.get(recordings()[0]?.id as string);
    expect(stored.steps.map((step) => `${step.seq} ${step.kind}`)).toEqual([
      '1 tab-switch',
      '2 click',
      '3 navigation',
      '4 click',
    ]);
    await page.close();
  });

  it('drops steps that waited more than 7 days, says so, and still delivers the fresh ones', async () => {
    const before = recordings().length;
    const eightDays = 8 * 24 * 60 * 60 * 1000;
    // Steps queued 8 days ago by a session the gateway never saw (the browser was offline since).
    await popup.evaluate(async (age) => {
      const step = (seq: number) => ({
        kind: 'click',
        seq,
        at: Date.now() - age,
        tabId: 1,
        url: 'http://127.0.0.1/old',
        selector: '#old',
        role: 'button',
        text: 'Old',
      });
      const old = (seq: number) => ({
        recordingId: crypto.randomUUID(),
        name: 'Eight days old',
        startedAt: Date.now() - age,
        queuedAt: Date.now() - age,
        step: step(seq),
      });
      await chrome.storage.local.set({ outbox: [old(1), old(2)] });
    }, eightDays);
    const page = await browser.context.newPage();
    await page.goto(`${site.origin}/other`);
    await record('Fresh', page, () => page.click('#other-button'));

    await expect.poll(outbox, settle).toEqual([]);
    await expect
      .poll(
        () => popup.getByText('2 undelivered steps were dropped after waiting 7 days.').isVisible(),
        settle,
      )
      .toBe(true);
    const names = recordings().map((item) => item.name);
    expect(names).toContain('Fresh');
    expect(names).not.toContain('Eight days old');
    expect(recordings()).toHaveLength(before + 1);
    await page.close();
  });
});
