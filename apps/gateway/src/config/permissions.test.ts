import { chmod, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalStore } from '../store/local-store.js';
import { ConfigFile } from './config-file.js';
import { type GatewayPaths, resolveGatewayPaths } from './paths.js';
import { enforcePrivatePermissions, findLoosePermissions, PermissionError } from './permissions.js';

let root: string;
let paths: GatewayPaths;
let storeFile: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'gw-perms-'));
  paths = resolveGatewayPaths({ OPENCLAW_STATE_DIR: join(root, 'state') });
  await ConfigFile.open(paths);
  const store = await LocalStore.open(paths.storeDir, { warn: () => {} });
  await store.close();
  storeFile = join(paths.storeDir, 'sessions.log');
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

async function loosen(): Promise<void> {
  await chmod(paths.stateDir, 0o755);
  await chmod(paths.configPath, 0o644);
  await chmod(storeFile, 0o644);
}

describe('private permissions', () => {
  it('finds nothing to do in a fresh state directory', async () => {
    expect(await modeOf(storeFile)).toBe(0o600);
    expect(await findLoosePermissions(paths)).toEqual([]);
    const warnings: string[] = [];
    expect(
      await enforcePrivatePermissions(paths, { strict: true, warn: (message) => warnings.push(message) }),
    ).toEqual([]);
    expect(warnings).toEqual([]);
  });

  it('repairs loose modes with one warning each naming the path and the modes', async () => {
    await loosen();
    const warnings: string[] = [];
    const repaired = await enforcePrivatePermissions(paths, {
      strict: false,
      warn: (message) => warnings.push(message),
    });
    expect(repaired).toHaveLength(3);
    expect(warnings.sort()).toEqual(
      [
        `repaired permissions of ${paths.stateDir}: was 0755, now 0700`,
        `repaired permissions of ${paths.configPath}: was 0644, now 0600`,
        `repaired permissions of ${storeFile}: was 0644, now 0600`,
      ].sort(),
    );
    expect(await modeOf(paths.stateDir)).toBe(0o700);
    expect(await modeOf(paths.configPath)).toBe(0o600);
    expect(await modeOf(storeFile)).toBe(0o600);

    warnings.length = 0;
    expect(
      await enforcePrivatePermissions(paths, { strict: false, warn: (message) => warnings.push(message) }),
    ).toEqual([]);
    expect(warnings).toEqual([]);
  });

  it('with strict: true refuses with a PermissionError listing them and changes nothing', async () => {
    await loosen();
    const warnings: string[] = [];
    const error = await enforcePrivatePermissions(paths, {
      strict: true,
      warn: (message) => warnings.push(message),
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PermissionError);
    const { loose, message } = error as PermissionError;
    expect(loose).toEqual(
      expect.arrayContaining([
        { path: paths.stateDir, kind: 'directory', mode: 0o755, expected: 0o700 },
        { path: paths.configPath, kind: 'file', mode: 0o644, expected: 0o600 },
        { path: storeFile, kind: 'file', mode: 0o644, expected: 0o600 },
      ]),
    );
    expect(loose).toHaveLength(3);
    expect(message).toContain(`${paths.stateDir} is 0755, expected 0700`);
    expect(message).toContain(`${paths.configPath} is 0644, expected 0600`);
    expect(message).toContain(`${storeFile} is 0644, expected 0600`);
    expect(warnings).toEqual([]);
    expect(await modeOf(paths.stateDir)).toBe(0o755);
    expect(await modeOf(paths.configPath)).toBe(0o644);
    expect(await modeOf(storeFile)).toBe(0o644);
  });

  it('checks a config kept outside the state directory, and does not follow symlinks', async () => {
    const outside = resolveGatewayPaths({
      OPENCLAW_STATE_DIR: paths.stateDir,
      OPENCLAW_CONFIG_PATH: join(root, 'etc', 'gw.json'),
    });
    await ConfigFile.open(outside);
    await chmod(outside.configPath, 0o640);
    const elsewhere = join(root, 'elsewhere.txt');
    await writeFile(elsewhere, 'not ours', { mode: 0o644 });
    await symlink(elsewhere, join(paths.stateDir, 'link'));

    const warnings: string[] = [];
    await enforcePrivatePermissions(outside, { strict: false, warn: (message) => warnings.push(message) });
    expect(warnings).toEqual([`repaired permissions of ${outside.configPath}: was 0640, now 0600`]);
    expect(await modeOf(outside.configPath)).toBe(0o600);
    expect(await modeOf(elsewhere)).toBe(0o644);
  });
});
