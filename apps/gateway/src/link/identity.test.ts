import { randomUUID } from 'node:crypto';
import { chmod, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createEgress } from '../egress/egress.js';
import { AlreadyLinkedError, CloudUnreachableError, enrollGateway } from './enroll.js';
import {
  deleteIdentity,
  generateDeviceKey,
  type IdentityPaths,
  identityPaths,
  type LinkStateFile,
  readDeviceKey,
  readLinkState,
  saveIdentity,
} from './identity.js';

let dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  dirs = [];
});

async function stateDir(): Promise<{ dir: string; identity: IdentityPaths }> {
  const dir = await mkdtemp(join(tmpdir(), 'mc-identity-'));
  dirs.push(dir);
  return { dir, identity: identityPaths(dir) };
}

const egressFor = (origin: string) =>
  createEgress({ allowedOrigins: () => [origin], log: { warn: () => {} } });

/** A loopback port with nothing listening on it (bound, then closed). */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const linkState = (): LinkStateFile => ({
  version: 1,
  cloudUrl: 'https://cloud.example.com',
  gatewayId: randomUUID(),
  workspaceId: randomUUID(),
  linkedAt: new Date().toISOString(),
});

describe('the device identity', () => {
  it('keeps the private key 0600 and the link state 0600 in a 0700 identity directory', async () => {
    const { identity } = await stateDir();
    const { privateKey, rawPublicKey } = generateDeviceKey();
    expect(Buffer.from(rawPublicKey, 'base64url')).toHaveLength(32);
    const state = linkState();
    await saveIdentity(identity, privateKey, state);
    expect((await stat(identity.dir)).mode & 0o777).toBe(0o700);
    expect((await stat(identity.keyPath)).mode & 0o777).toBe(0o600);
    expect((await stat(identity.statePath)).mode & 0o777).toBe(0o600);
    expect(await readLinkState(identity)).toEqual(state);
    const key = await readDeviceKey(identity, () => {});
    expect(key.asymmetricKeyType).toBe('ed25519');
    // Written atomically: no temp files are left beside them.
    expect((await readdir(identity.dir)).sort()).toEqual(['device-key.pem', 'link.json']);
  });

  it('repairs a key file others could read, and says so', async () => {
    const { identity } = await stateDir();
    await saveIdentity(identity, generateDeviceKey().privateKey, linkState());
    await chmod(identity.keyPath, 0o644);
    const warnings: string[] = [];
    await readDeviceKey(identity, (message) => warnings.push(message));
    expect((await stat(identity.keyPath)).mode & 0o777).toBe(0o600);
    expect(warnings.join()).toMatch(/readable by others.*0600/);
  });

  it('names a damaged link state and says what to do', async () => {
    const { identity } = await stateDir();
    await saveIdentity(identity, generateDeviceKey().privateKey, linkState());
    await writeFile(identity.statePath, '{"version": 1, "cloudUrl": "https://x"}');
    await expect(readLinkState(identity)).rejects.toThrow(/link\.json.*multiclaw-gateway unlink/);
    await deleteIdentity(identity);
    expect(await readLinkState(identity)).toBeUndefined();
    expect(await readdir(identity.dir)).toEqual([]);
  });
});

describe('enrolling', () => {
  it('leaves nothing on disk when the cloud cannot be reached', async () => {
    const { dir, identity } = await stateDir();
    const cloud = `http://127.0.0.1:${await deadPort()}`;
    const failed = await enrollGateway({ identity, cloud, code: 'x'.repeat(43), egressFor }).catch(
      (error: unknown) => error,
    );
    expect(failed).toBeInstanceOf(CloudUnreachableError);
    expect((failed as Error).message).toContain(cloud);
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses an insecure cloud before anything is made or sent', async () => {
    const { dir, identity } = await stateDir();
    let asked = false;
    const refused = await enrollGateway({
      identity,
      cloud: 'http://cloud.example.com',
      code: 'code',
      egressFor: (origin) => {
        asked = true;
        return egressFor(origin);
      },
    }).catch((error: unknown) => error);
    expect(refused).toMatchObject({ code: 'LINK_CLOUD_URL_INSECURE' });
    expect(asked).toBe(false);
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses to link again while linked (unlink first), and keeps the existing identity', async () => {
    const { identity } = await stateDir();
    const existing = linkState();
    await saveIdentity(identity, generateDeviceKey().privateKey, existing);
    const refused = await enrollGateway({
      identity,
      cloud: 'https://other.example.com',
      code: 'code',
      egressFor: () => {
        throw new Error('must not connect');
      },
    }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(AlreadyLinkedError);
    expect((refused as Error).message).toMatch(/already linked.*unlink/);
    expect(await readLinkState(identity)).toEqual(existing);
  });
});
