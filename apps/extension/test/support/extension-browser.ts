import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHROMIUM } from '@multiclaw/test-support/browser';
import { type BrowserContext, chromium, type Page, type Worker } from 'playwright-core';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const DIST = join(ROOT, 'dist');

/** The extension as `pnpm --filter @multiclaw/extension build` writes it: built once per test file. */
export function buildExtension(): void {
  execFileSync(process.execPath, [join(ROOT, 'scripts/build.mjs')], { cwd: ROOT, stdio: 'pipe' });
}

export interface ExtensionBrowser {
  context: BrowserContext;
  extensionId: string;
  origin: string;
  /** The running service worker (a new one after a restart). */
  worker(): Promise<Worker>;
  /** The popup, opened as a page of its own (what a click on the toolbar icon shows). */
  openPopup(): Promise<Page>;
  /**
   * Stops the service worker, as Chrome does to an idle one; resolves once it
   * is stopped, with `running`: settles when a new one runs (whatever started it).
   */
  stopWorker(): Promise<{ running: Promise<void> }>;
  close(): Promise<void>;
}

/**
 * Real Chromium with the unpacked extension loaded, in Chromium's new headless
 * mode (which runs extensions), in a profile of its own.
 */
export async function launchWithExtension(): Promise<ExtensionBrowser> {
  const profile = await mkdtemp(join(tmpdir(), 'mc-extension-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless=new',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      `--disable-extensions-except=${DIST}`,
      `--load-extension=${DIST}`,
    ],
  });
  const worker = async () => {
    const running = context.serviceWorkers().find((sw) => sw.url().startsWith('chrome-extension://'));
    return running ?? (await context.waitForEvent('serviceworker', { timeout: 30_000 }));
  };
  const extensionId = new URL((await worker()).url()).host;
  const origin = `chrome-extension://${extensionId}`;
  return {
    context,
    extensionId,
    origin,
    worker,
    openPopup: async () => {
      const page = await context.newPage();
      await page.goto(`${origin}/popup.html`);
      return page;
    },
    stopWorker: async () => {
      // Playwright keeps the stopped worker's handle; DevTools says when the worker really stopped, and when one runs again.
      const page = context.pages()[0] ?? (await context.newPage());
      const cdp = await context.newCDPSession(page);
      let stoppedNow: () => void = () => {};
      let runningAgain: () => void = () => {};
      const stopped = new Promise<void>((resolve) => {
        stoppedNow = resolve;
      });
      const running = new Promise<void>((resolve) => {
        runningAgain = resolve;
      });
      let phase: 'stopping' | 'stopped' = 'stopping';
      cdp.on('ServiceWorker.workerVersionUpdated', ({ versions }) => {
        const ours = versions.filter((version) => version.scriptURL.startsWith(origin));
        if (
          phase === 'stopping' &&
          ours.length &&
          ours.every((version) => version.runningStatus === 'stopped')
        ) {
          phase = 'stopped';
          stoppedNow();
        } else if (phase === 'stopped' && ours.some((version) => version.runningStatus === 'running')) {
          runningAgain();
          void cdp.detach().catch(() => undefined);
        }
      });
      await cdp.send('ServiceWorker.enable');
      await cdp.send('ServiceWorker.stopAllWorkers');
      await stopped;
      return { running };
    },
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** What the extension holds in storage.local and storage.session, as JSON text (read in its popup page). */
export async function extensionStorage(popup: Page): Promise<{ local: string; session: string }> {
  return popup.evaluate(async () => ({
    local: JSON.stringify(await chrome.storage.local.get(null)),
    session: JSON.stringify(await chrome.storage.session.get(null)),
  }));
}
