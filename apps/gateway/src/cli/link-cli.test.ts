import { randomUUID } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliInProcess, home } from '../../test/support/cli.js';
import { generateDeviceKey, identityPaths, saveIdentity } from '../link/identity.js';

describe('multiclaw-gateway link / unlink (without a cloud)', () => {
  it('have --help naming the identity directory and the exit codes', async () => {
    const env = await home();
    for (const args of [
      ['link', '--help'],
      ['unlink', '--help'],
    ]) {
      const result = await cliInProcess(args, env);
      expect(result.code, args.join(' ')).toBe(0);
      expect(result.stdout).toContain('Usage: multiclaw-gateway');
      expect(result.stdout).toContain('identity/');
      expect(result.stdout).toContain('Exit codes:');
    }
    expect((await cliInProcess(['link', '--cloud', 'https://cloud.example.com'], env)).code).toBe(64);
  });

  it('link refuses a plain-http cloud that is not this machine (64), and writes nothing', async () => {
    const env = await home();
    const result = await cliInProcess(['link', '--cloud', 'http://cloud.example.com', '--code', 'abc'], env);
    expect(result.code).toBe(64);
    expect(result.stderr).toMatch(/needs https.*LINK_CLOUD_URL_INSECURE/s);
    await expect(readdir(join(env.OPENCLAW_STATE_DIR, 'identity'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('status says "not linked" with no link, and the stored link as offline when no gateway runs', async () => {
    const env = await home();
    const before = await cliInProcess(['status', '--json'], env);
    expect(before.code).toBe(3);
    expect(JSON.parse(before.stdout).link).toEqual({ state: 'not linked' });

    const ids = { gatewayId: randomUUID(), workspaceId: randomUUID() };
    await saveIdentity(identityPaths(env.OPENCLAW_STATE_DIR), generateDeviceKey().privateKey, {
      version: 1,
      cloudUrl: 'https://cloud.example.com',
      ...ids,
      linkedAt: new Date().toISOString(),
    });
    const after = await cliInProcess(['status', '--json'], env);
    expect(JSON.parse(after.stdout).link).toMatchObject({ state: 'offline', ...ids });
    expect((await cliInProcess(['status'], env)).stdout).toContain(
      `cloud link: offline to workspace ${ids.workspaceId}`,
    );
  });

  it('doctor looks at the link: fine when not linked, a problem when revoked or without its key', async () => {
    const env = await home();
    const linkCheck = async () => {
      const result = await cliInProcess(['doctor', '--json', '--offline'], env);
      const { checks } = JSON.parse(result.stdout) as {
        checks: { name: string; ok: boolean; detail: string }[];
      };
      return checks.find((check) => check.name === 'cloud link');
    };
    expect(await linkCheck()).toMatchObject({ ok: true, detail: expect.stringContaining('not linked') });
    const identity = identityPaths(env.OPENCLAW_STATE_DIR);
    const state = {
      version: 1 as const,
      cloudUrl: 'https://cloud.example.com',
      gatewayId: randomUUID(),
      workspaceId: randomUUID(),
      linkedAt: new Date().toISOString(),
    };
    await saveIdentity(identity, generateDeviceKey().privateKey, state);
    expect(await linkCheck()).toMatchObject({ ok: true, detail: expect.stringContaining(state.gatewayId) });
    await rm(identity.keyPath);
    expect(await linkCheck()).toMatchObject({ ok: false, detail: expect.stringContaining('device key') });
    await saveIdentity(identity, generateDeviceKey().privateKey, {
      ...state,
      revokedAt: new Date().toISOString(),
    });
    expect(await linkCheck()).toMatchObject({
      ok: false,
      detail: expect.stringContaining('revoked this gateway'),
    });
  });

  it('unlink with no link says so and succeeds; with an unreachable cloud it still deletes the key and says to revoke it there', async () => {
    const env = await home();
    const none = await cliInProcess(['unlink'], env);
    expect(none.code).toBe(0);
    expect(none.stdout).toContain('not linked');

    const identity = identityPaths(env.OPENCLAW_STATE_DIR);
    const gatewayId = randomUUID();
    await saveIdentity(identity, generateDeviceKey().privateKey, {
      version: 1,
      // Port 9 (discard) on loopback: nothing answers there.
      cloudUrl: 'http://127.0.0.1:9',
      gatewayId,
      workspaceId: randomUUID(),
      linkedAt: new Date().toISOString(),
    });
    const result = await cliInProcess(['unlink'], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`revoke gateway ${gatewayId} from the workspace's gateway list`);
    expect(await readdir(identity.dir)).toEqual([]);
  });
});
