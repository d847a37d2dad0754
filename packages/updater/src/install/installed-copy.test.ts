import { lstatSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/keys.js';
import { installedCopy } from './installed-copy.js';
import { versionFloorFile } from './version-floor.js';

const bytes = (text: string) => new Uint8Array(Buffer.from(text));

describe('installedCopy', () => {
  it('stages a version into its own private directory and swaps current, keeping previous', async () => {
    const root = join(tempDir('installed-'), 'versions');
    const copy = installedCopy(root);
    expect(await copy.current()).toBeUndefined();

    const dir = await copy.stage('1.3.0', { 'multiclaw-gateway.mjs': bytes('v1.3.0') });
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'multiclaw-gateway.mjs')).mode & 0o777).toBe(0o600);
    expect(await copy.current()).toBeUndefined(); // staging alone changes nothing the launcher runs
    await copy.activate('1.3.0');
    expect(readlinkSync(join(root, 'current'))).toBe('1.3.0');
    expect(await copy.previous()).toBeUndefined();

    await copy.stage('1.4.0', { 'multiclaw-gateway.mjs': bytes('v1.4.0') });
    await copy.activate('1.4.0');
    expect(await copy.current()).toBe('1.4.0');
    expect(await copy.previous()).toBe('1.3.0');
    expect(readFileSync(join(root, 'current', 'multiclaw-gateway.mjs'), 'utf8')).toBe('v1.4.0');
    expect(readdirSync(root).filter((name) => name.endsWith('.tmp') || name.startsWith('.stage'))).toEqual(
      [],
    );
  });

  it('rolls back to previous and drops the failed version; with no previous, removes current', async () => {
    const root = join(tempDir('installed-'), 'versions');
    const copy = installedCopy(root);
    await copy.stage('1.3.0', { entry: bytes('a') });
    await copy.activate('1.3.0');
    await copy.rollBack('1.3.0');
    expect(() => lstatSync(join(root, 'current'))).toThrow(/ENOENT/); // the launcher's own copy runs again
    expect(() => statSync(join(root, '1.3.0'))).toThrow(/ENOENT/);

    await copy.stage('1.3.0', { entry: bytes('a') });
    await copy.activate('1.3.0');
    await copy.stage('1.4.0', { entry: bytes('b') });
    await copy.activate('1.4.0');
    await copy.rollBack('1.4.0');
    expect(await copy.current()).toBe('1.3.0');
    expect(readFileSync(join(root, 'current', 'entry'), 'utf8')).toBe('a');
    expect(() => statSync(join(root, '1.4.0'))).toThrow(/ENOENT/);
  });

  it('prunes every version but current and previous', async () => {
    const root = join(tempDir('installed-'), 'versions');
    const copy = installedCopy(root);
    for (const version of ['1.0.0', '1.1.0', '1.2.0']) {
      await copy.stage(version, { entry: bytes(version) });
      await copy.activate(version);
    }
    writeFileSync(join(root, 'highest-accepted.json'), '{}');
    await copy.prune();
    expect(readdirSync(root).sort()).toEqual([
      '1.1.0',
      '1.2.0',
      'current',
      'highest-accepted.json',
      'previous',
    ]);
  });

  it('refuses file names that would leave the version directory', async () => {
    const copy = installedCopy(join(tempDir('installed-'), 'versions'));
    await expect(copy.stage('1.0.0', { '../escape': bytes('x') })).rejects.toThrow(/plain file name/);
    await expect(copy.stage('../1.0.0', { entry: bytes('x') })).rejects.toThrow(/not a version/);
  });
});

describe('versionFloorFile (anti-rollback)', () => {
  it('starts at the running version, only ever rises, and is kept 0600 in a 0700 directory', async () => {
    const dir = join(tempDir('floor-'), 'versions');
    const path = join(dir, 'highest-accepted.json');
    const floor = versionFloorFile(path);
    expect(await floor.read('1.2.0')).toBe('1.2.0');
    await floor.raise('1.4.0');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    await floor.raise('1.3.0');
    expect(await floor.read('1.2.0')).toBe('1.4.0'); // a reinstalled older copy does not lower it
    expect(await floor.read('2.0.0')).toBe('2.0.0');
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ highestAccepted: '1.4.0' });
  });

  it('refuses to guess when the file is damaged', async () => {
    const dir = tempDir('floor-');
    const path = join(dir, 'highest-accepted.json');
    writeFileSync(path, '{"highestAccepted": "one"}');
    await expect(versionFloorFile(path).read('1.0.0')).rejects.toThrow(/damaged/);
  });
});
