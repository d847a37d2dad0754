import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { GatewayConfig } from '@multiclaw/gateway';
import { launchChromium } from '@multiclaw/test-support/browser';
import type { Browser, Page } from 'playwright-core';
import { build } from 'vite';
import {
  type FakeProvider,
  type FakeReply,
  startFakeOpenAI,
  streamReply,
} from '../../../gateway/test/fake-providers/index.js';
import { startTestDesktop, type TestDesktop } from '../support/desktop.js';

const UI_CONFIG = fileURLToPath(new URL('../../ui/vite.config.ts', import.meta.url));

/** Builds apps/desktop/ui as `pnpm build` does, into a folder of its own (what the source says now, not a stale dist). */
export async function buildUi(): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'mc-desktop-ui-dist-'));
  // vitest sets NODE_ENV=test, which would make Vite build React's development JSX.
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await build({ configFile: UI_CONFIG, logLevel: 'warn', build: { outDir: dir, emptyOutDir: true } });
  } finally {
    process.env.NODE_ENV = nodeEnv;
  }
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** The reply the fake provider gives: quick by default, slow when a test wants to stop one. */
export interface ReplyControl {
  mode: 'quick' | 'slow';
  quick: string[];
}

/**
 * A person's whole machine for the UI: a real gateway, the desktop host
 * serving the freshly built UI, a local server speaking OpenAI's wire format
 * (checking the API key as the real one does), and Chromium.
 */
export async function startUiWorld(options: {
  apiKey: string;
  gateway?: boolean;
  configure?: (config: GatewayConfig) => GatewayConfig;
  /** How single sign-on opens the system browser (a Chromium page in tests), the cloud session's clock. */
  desktop?: NonNullable<Parameters<typeof startTestDesktop>[0]>['desktop'];
}) {
  const ui = await buildUi();
  const replies: ReplyControl = { mode: 'quick', quick: ['Hello', ' from **the agent**', '.'] };
  const provider: FakeProvider = await startFakeOpenAI(
    (): FakeReply =>
      replies.mode === 'slow'
        ? streamReply(
            Array.from({ length: 60 }, (_, i) => `word${i} `),
            { chunkDelayMs: 500 },
          )
        : streamReply(replies.quick, { chunkDelayMs: 50 }),
    { apiKey: options.apiKey },
  );
  const desktop: TestDesktop = await startTestDesktop({
    uiDir: ui.dir,
    gateway: options.gateway ?? true,
    ...(options.configure ? { configure: options.configure } : {}),
    ...(options.desktop ? { desktop: options.desktop } : {}),
  });
  const browser: Browser = await launchChromium();
  return {
    ui,
    provider,
    replies,
    t: desktop,
    browser,
    async close() {
      await browser.close();
      await desktop.close();
      await provider.close();
      await ui.remove();
    },
  };
}

const AXE_SOURCE = readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/**
 * axe-core's serious and critical violations on the page as it is now. Its
 * source is evaluated through the browser's debugging protocol, which the
 * page's CSP does not govern (a <script> tag would be refused, rightly).
 */
export async function axeViolations(page: Page): Promise<string[]> {
  if (!(await page.evaluate('typeof window.axe !== "undefined"'))) await page.evaluate(await AXE_SOURCE);
  const results = (await page.evaluate('window.axe.run(document, { resultTypes: ["violations"] })')) as {
    violations: { id: string; impact?: string; help: string; nodes: { target: unknown }[] }[];
  };
  return results.violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .map(
      (violation) =>
        `${violation.impact} ${violation.id}: ${violation.help} (${violation.nodes
          .map((node) => JSON.stringify(node.target))
          .join(', ')})`,
    );
}
