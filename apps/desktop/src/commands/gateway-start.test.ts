import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { closedPortUrl } from '../../../gateway/test/fake-providers/index.js';
import { openEvents, startTestDesktop, type TestDesktop } from '../../test/support/desktop.js';

let t: TestDesktop;
let spawnedPid: number | undefined;

beforeAll(async () => {
  const port = Number(new URL(await closedPortUrl()).port);
  t = await startTestDesktop({
    gateway: false,
    configure: (config) => ({ ...config, gateway: { ...config.gateway, port } }),
  });
});
afterAll(async () => {
  if (spawnedPid) {
    try {
      process.kill(spawnedPid, 'SIGTERM');
    } catch {}
  }
  await t.close();
});

async function waitForExit(pid: number): Promise<void> {
  for (let i = 0; i < 300; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await sleep(100);
  }
}

it('starts `multiclaw-gateway start` detached when none answers, and says when it is up and when it goes down', async () => {
  const events = await openEvents(t.desktop);
  expect(events.events[0]).toMatchObject({
    type: 'events.ready',
    payload: { gateway: { state: 'stopped' } },
  });

  // Two quick clicks: one gateway.
  const [started, twin] = await Promise.all([t.call('gateway.start'), t.call('gateway.start')]);
  expect(started.status).toBe(200);
  expect(twin.body).toEqual(started.body);
  const third = await t.call('gateway.start');
  expect(['starting', 'running']).toContain(third.body.outcome);
  expect(started.body).toMatchObject({
    outcome: 'started',
    logFile: `${t.desktop.paths.logDir}/gateway.log`,
  });
  spawnedPid = started.body.pid as number;
  expect(spawnedPid).toBeGreaterThan(0);
  expect(spawnedPid).not.toBe(process.pid);

  const up = await events.next('gateway.up');
  expect(up.payload.gateway).toMatchObject({ state: 'running', pid: spawnedPid });
  expect((await t.call('gateway.status')).body).toMatchObject({ state: 'running', pid: spawnedPid });
  // A second start finds it running and spawns nothing.
  expect((await t.call('gateway.start')).body).toEqual({ outcome: 'running' });
  // Its output went to the log file in the desktop's state directory.
  expect(await readFile(started.body.logFile as string, 'utf8')).toContain('MultiClaw gateway listening');

  process.kill(spawnedPid, 'SIGTERM');
  const down = await events.next('gateway.down');
  expect(down.payload.gateway.state).toBe('stopped');
  await waitForExit(spawnedPid);
  spawnedPid = undefined;
  events.close();
}, 120_000);
