import { spawnSync } from 'node:child_process';
import {
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ensurePrivateDir,
  removeStaleTempFiles,
  writeFileAtomic,
  writePrivateFileAtomic,
} from './atomic-write.js';
import { isRunning } from './process.js';

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mc-atomic-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

/** The pid of a process that has already exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
    encoding: 'utf8',
  });
  return Number(child.stdout);
}

describe('writeFileAtomic', () => {
  it('replaces the file, 0600, leaving no temp file behind', async () => {
    const dir = await mkdtemp(join(root, 'basic-'));
    const path = join(dir, 'openclaw.json');
    await writeFile(path, 'old', { mode: 0o644 });
    await writeFileAtomic(path, 'new text');
    expect(await readFile(path, 'utf8')).toBe('new text');
    expect(await modeOf(path)).toBe(0o600);
    await writeFileAtomic(path, Buffer.from([1, 2, 3]));
    expect([...(await readFile(path))]).toEqual([1, 2, 3]);
    expect(await readdir(dir)).toEqual(['openclaw.json']);
  });

  it('gives the file the mode asked for (a service unit others may read)', async () => {
    const dir = await mkdtemp(join(root, 'mode-'));
    const path = join(dir, 'unit.service');
    await writeFileAtomic(path, '[Unit]\n', 0o644);
    // The umask may take bits away, never add them: at most 0644, and readable by its owner.
    expect((await modeOf(path)) & ~0o644).toBe(0);
    expect((await modeOf(path)) & 0o600).toBe(0o600);
  });

  it('leaves the old file and no temp file when the write fails', async () => {
    const dir = await mkdtemp(join(root, 'fail-'));
    const path = join(dir, 'openclaw.json');
    await writeFileAtomic(path, 'old');
    await mkdir(join(dir, 'sub'));
    // Renaming a file over a directory fails after the temp file was written.
    await expect(writeFileAtomic(join(dir, 'sub'), 'x')).rejects.toThrow();
    expect(await readFile(path, 'utf8')).toBe('old');
    expect((await readdir(dir)).sort()).toEqual(['openclaw.json', 'sub']);
  });

  it('replaces a symbolic link with the file instead of writing through it', async () => {
    const dir = await mkdtemp(join(root, 'link-'));
    const target = join(dir, 'elsewhere.json');
    const path = join(dir, 'openclaw.json');
    await writeFile(target, 'old secrets');
    await symlink(target, path);
    await writeFileAtomic(path, 'new secrets');
    expect((await lstat(path)).isFile()).toBe(true);
    expect(await readFile(path, 'utf8')).toBe('new secrets');
    expect(await readFile(target, 'utf8')).toBe('old secrets');
  });

  it('fails when the directory does not exist (writePrivateFileAtomic creates it)', async () => {
    const path = join(root, 'missing', 'file.json');
    await expect(writeFileAtomic(path, 'x')).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('writePrivateFileAtomic', () => {
  it('creates the missing directories 0700 and the file 0600', async () => {
    const dir = join(root, 'private', 'state');
    const path = join(dir, 'dev-keys.json');
    await writePrivateFileAtomic(path, '{"k":1}\n');
    expect(await readFile(path, 'utf8')).toBe('{"k":1}\n');
    expect(await modeOf(path)).toBe(0o600);
    expect(await modeOf(dir)).toBe(0o700);
    expect(await readdir(dir)).toEqual(['dev-keys.json']);
  });

  it('makes an existing, looser directory private before writing into it', async () => {
    const dir = await mkdtemp(join(root, 'loose-'));
    await chmod(dir, 0o755);
    await writePrivateFileAtomic(join(dir, 'outbox.eml'), 'mail');
    expect(await modeOf(dir)).toBe(0o700);
    expect(await modeOf(join(dir, 'outbox.eml'))).toBe(0o600);
  });
});

describe('ensurePrivateDir', () => {
  it('creates the directory and its parents, and tightens an existing one to 0700', async () => {
    const dir = join(root, 'a', 'b', 'c');
    await ensurePrivateDir(dir);
    expect(await modeOf(dir)).toBe(0o700);
    await chmod(dir, 0o777);
    await ensurePrivateDir(dir);
    expect(await modeOf(dir)).toBe(0o700);
  });
});

describe('removeStaleTempFiles', () => {
  it('removes temp files of writers that no longer run, and keeps those of live ones', async () => {
    const dir = await mkdtemp(join(root, 'stale-'));
    const path = join(dir, 'openclaw.json');
    const dead = deadPid();
    expect(isRunning(dead)).toBe(false);
    expect(isRunning(process.pid)).toBe(true);
    const names = {
      dead: `.openclaw.json.${dead}.abcdef012345.tmp`,
      live: `.openclaw.json.${process.pid}.abcdef012345.tmp`,
      garbled: '.openclaw.json.notapid.tmp',
      other: `.other.json.${dead}.abcdef012345.tmp`,
    };
    for (const name of Object.values(names)) await writeFile(join(dir, name), 'partial');
    await writeFile(path, '{}');
    expect((await removeStaleTempFiles(path)).sort()).toEqual([names.dead, names.garbled].sort());
    expect((await readdir(dir)).sort()).toEqual(['openclaw.json', names.live, names.other].sort());
  });

  it('finds nothing to remove in a directory that does not exist', async () => {
    expect(await removeStaleTempFiles(join(root, 'nowhere', 'openclaw.json'))).toEqual([]);
  });
});
