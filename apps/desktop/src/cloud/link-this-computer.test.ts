import type { ErrorEnvelope } from '@multiclaw/protocol';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestCloud, type TestCloud } from '../../../gateway/test/support/cloud.js';
import { openEvents, startTestDesktop, type TestDesktop } from '../../test/support/desktop.js';

/**
 * "Link this computer" end to end: a real cloud, a real gateway running for
 * this desktop, and the host doing what a person would otherwise copy and
 * paste: an enrollment code from the cloud, `multiclaw-gateway link` with it.
 * The gateway then shows online in the cloud's list, and the desktop hears
 * `gateway.online` on its real-time socket.
 */
const PASSWORD = 'link this computer passphrase 4';
let cloud: TestCloud;
let t: TestDesktop;

beforeAll(async () => {
  cloud = await startTestCloud();
  t = await startTestDesktop();
}, 120_000);
afterAll(async () => {
  await t?.close();
  await cloud?.drop();
}, 60_000);

describe('gateways.linkThisComputer', () => {
  it('links the local gateway to the workspace in one call; it goes online in the cloud', async () => {
    const email = `link-${Date.now()}@example.com`;
    await fetch(`http://127.0.0.1:${cloud.port}/v1/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: PASSWORD }),
    });
    expect((await t.call('settings.update', { cloudUrl: cloud.url })).status).toBe(200);
    expect((await t.call('account.signIn', { email, password: PASSWORD })).status).toBe(200);
    const workspace = await t.call('workspaces.create', { name: 'Laptops' });
    const workspaceId = (workspace.body as { id: string }).id;

    const events = await openEvents(t.desktop);
    await vi.waitFor(() => expect(t.desktop.cloud.realtime.ready).toBe(true), { timeout: 20_000 });
    const linked = await t.call('gateways.linkThisComputer', { workspaceId });
    expect(linked.status, JSON.stringify(linked.body)).toBe(200);
    expect(linked.body).toMatchObject({ workspaceId, cloudUrl: cloud.url });
    const gatewayId = (linked.body as { gatewayId?: string }).gatewayId;
    expect(gatewayId).toBeTruthy();

    await vi.waitFor(
      async () => {
        const list = await t.call('gateways.list', { workspaceId });
        const items = (list.body as { items: Array<{ id: string; online: boolean }> }).items;
        expect(items.find((gateway) => gateway.id === gatewayId)?.online).toBe(true);
      },
      { timeout: 60_000, interval: 500 },
    );
    // The desktop heard it live, too.
    const online = await events.next(
      'cloud.event',
      (event) => event.payload.event.kind === 'gateway.online' && event.payload.event.gatewayId === gatewayId,
    );
    expect(online.payload.event.workspaceId).toBe(workspaceId);
    events.close();
    const status = await t.call('gateway.status');
    expect(status.body).toMatchObject({ link: { workspaceId, gatewayId } });

    // Linked already: a second click is refused in plain words, and nothing changes.
    const again = await t.call('gateways.linkThisComputer', { workspaceId });
    expect(again.status).toBe(409);
    expect((again.body as ErrorEnvelope).error.code).toBe('DESKTOP_GATEWAY_LINK_FAILED');
    expect((again.body as ErrorEnvelope).error.message).toMatch(/linked already/);
  }, 180_000);
});
