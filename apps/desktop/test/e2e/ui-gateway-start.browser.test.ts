import { setTimeout as sleep } from 'node:timers/promises';
import { chromiumMissing } from '@multiclaw/test-support/browser';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { closedPortUrl } from '../../../gateway/test/fake-providers/index.js';
import { axeViolations, startUiWorld } from './ui-harness.js';

/**
 * No gateway answers: the window says so in words and offers to start one;
 * a person presses "Start the gateway" (the host spawns the real
 * `multiclaw-gateway start`) and sees it come up.
 */
const skip = chromiumMissing('ui-gateway-start.browser.test.ts');
let world: Awaited<ReturnType<typeof startUiWorld>>;
let spawnedPid: number | undefined;

beforeAll(async () => {
  if (skip) return;
  const port = Number(new URL(await closedPortUrl()).port);
  world = await startUiWorld({
    apiKey: 'sk-unused',
    gateway: false,
    configure: (config) => ({ ...config, gateway: { ...config.gateway, port } }),
  });
}, 120_000);
afterAll(async () => {
  if (skip) return;
  if (spawnedPid) {
    try {
      process.kill(spawnedPid, 'SIGTERM');
    } catch {}
    for (let i = 0; i < 300; i++) {
      try {
        process.kill(spawnedPid, 0);
      } catch {
        break;
      }
      await sleep(100);
    }
  }
  await world.close();
});

it.skipIf(skip)(
  'says no gateway answers, starts one on request, and shows when it is up',
  async () => {
    const page = await world.browser.newPage();
    await page.goto(world.t.desktop.windowUrl('main'));
    await page
      .getByText(/^No gateway answers at http:\/\/127\.0\.0\.1:\d+\. Agents and chat need it\.$/)
      .waitFor({
        timeout: 60_000,
      });
    expect(await page.getByText('Gateway not running', { exact: true }).count()).toBe(1);
    expect(await axeViolations(page)).toEqual([]);

    await page.getByRole('button', { name: 'Start the gateway' }).click();
    await page.getByText('The gateway is up.').waitFor({ timeout: 90_000 });
    expect(await page.getByText('Gateway running', { exact: true }).count()).toBe(1);
    const status = (await world.t.call('gateway.status')).body;
    expect(status.state).toBe('running');
    spawnedPid = status.pid as number;
    expect(spawnedPid).not.toBe(process.pid);
    expect(await axeViolations(page)).toEqual([]);
    await page.close();
  },
  150_000,
);
