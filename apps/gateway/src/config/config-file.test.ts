import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '@multiclaw/runtime/atomic-write';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawnTs } from '../../test/crash/harness.js';
import { ConfigFile, lockPathOf, readConfigFile, serializeConfig } from './config-file.js';
import { type GatewayPaths, resolveGatewayPaths } from './paths.js';
import { ConfigError, DEFAULT_GATEWAY_PORT, type GatewayConfig } from './schema.js';

let root: string;
let paths: GatewayPaths;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'gw-config-'));
  paths = resolveGatewayPaths({ OPENCLAW_STATE_DIR: join(root, 'state') });
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const modeOf = async (path: string) => (await stat(path)).mode & 0o777;
const withAgent = (config: GatewayConfig, id: string): GatewayConfig => ({
  ...config,
  agents: { list: [...config.agents.list, { id, name: `Agent ${id}`, model: 'openai/gpt-4o' }] },
});

describe('ConfigFile.open', () => {
  it('creates the config on first open with defaults and a fresh 256-bit token, 0600 in 0700 directories', async () => {
    const created: string[] = [];
    const file = await ConfigFile.open(paths, { onCreated: (path) => created.push(path) });
    expect(created).toEqual([paths.configPath]);
    const config = file.cached();
    expect(config.gateway.port).toBe(DEFAULT_GATEWAY_PORT);
    expect(config.gateway.bind).toBe('loopback');
    expect(config.gateway.allowNonLoopback).toBe(false);
    expect(config.agents.list).toEqual([]);
    expect(config.models.providers).toEqual({});
    expect(config.gateway.auth.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(config.gateway.auth.token, 'base64url')).toHaveLength(32);

    expect(JSON.parse(await readFile(paths.configPath, 'utf8'))).toEqual(config);
    expect(await modeOf(paths.configPath)).toBe(0o600);
    for (const dir of [paths.stateDir, paths.storeDir, paths.crashDir]) expect(await modeOf(dir)).toBe(0o700);
    await expect(stat(lockPathOf(paths))).rejects.toMatchObject({ code: 'ENOENT' });

    // Reopening reads the same file: no new token, no "created".
    const again = await ConfigFile.open(paths, { onCreated: (path) => created.push(path) });
    expect(again.cached()).toEqual(config);
    expect(created).toHaveLength(1);
  });

  it('gives two state directories two different tokens', async () => {
    const other = resolveGatewayPaths({ OPENCLAW_STATE_DIR: join(root, 'other') });
    const [a, b] = await Promise.all([ConfigFile.open(paths), ConfigFile.open(other)]);
    expect(a.cached().gateway.auth.token).not.toBe(b.cached().gateway.auth.token);
  });

  it('agrees on one token when two opens race on a fresh directory', async () => {
    const created: string[] = [];
    const files = await Promise.all(
      Array.from({ length: 4 }, () => ConfigFile.open(paths, { onCreated: (path) => created.push(path) })),
    );
    expect(created).toHaveLength(1);
    const onDisk = await readConfigFile(paths);
    for (const file of files) expect(file.cached()).toEqual(onDisk);
  });

  it('honours OPENCLAW_CONFIG_PATH outside the state directory', async () => {
    const custom = resolveGatewayPaths({
      OPENCLAW_STATE_DIR: join(root, 'state'),
      OPENCLAW_CONFIG_PATH: join(root, 'etc', 'gw.json'),
    });
    const file = await ConfigFile.open(custom);
    expect(JSON.parse(await readFile(join(root, 'etc', 'gw.json'), 'utf8'))).toEqual(file.cached());
    expect(await modeOf(join(root, 'etc'))).toBe(0o700);
    expect(await modeOf(join(root, 'etc', 'gw.json'))).toBe(0o600);
    await expect(stat(join(root, 'state', 'openclaw.json'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses an invalid file with a ConfigError naming the key paths, and leaves it alone', async () => {
    await ConfigFile.open(paths);
    const text = JSON.stringify({ gateway: { prot: 1, port: 'x', auth: { token: 'a'.repeat(43) } } });
    await writeFile(paths.configPath, text);
    const error = await ConfigFile.open(paths).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).file).toBe(paths.configPath);
    expect((error as ConfigError).problems).toEqual(
      expect.arrayContaining(['gateway.prot: unknown key', expect.stringMatching(/^gateway\.port: ./)]),
    );
    expect(await readFile(paths.configPath, 'utf8')).toBe(text);

    await writeFile(paths.configPath, '{ "gateway": ');
    await expect(ConfigFile.open(paths)).rejects.toMatchObject({
      name: 'ConfigError',
      problems: [expect.stringMatching(/^not valid JSON/)],
    });
  });
});

describe('ConfigFile.current', () => {
  it('picks up a replacement written by another writer', async () => {
    const file = await ConfigFile.open(paths);
    const before = await file.current();
    expect(await file.current()).toBe(before);

    const replaced = { ...before, gateway: { ...before.gateway, port: 20_000 } };
    await writeFileAtomic(paths.configPath, serializeConfig(replaced));
    expect((await file.current()).gateway.port).toBe(20_000);
    expect(file.cached().gateway.port).toBe(20_000);

    // An in-place edit by an editor that changes the size is noticed too.
    await writeFile(paths.configPath, serializeConfig(withAgent(replaced, 'edited')));
    expect((await file.current()).agents.list.map((agent) => agent.id)).toEqual(['edited']);
  });

  it('keeps the last good config and reports why when the new file is invalid', async () => {
    const errors: Error[] = [];
    const file = await ConfigFile.open(paths, { onReloadError: (error) => errors.push(error) });
    const good = await file.current();

    await writeFileAtomic(
      paths.configPath,
      JSON.stringify({ gateway: { port: 1, auth: { token: 'short' } } }),
    );
    expect(await file.current()).toEqual(good);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(ConfigError);
    expect((errors[0] as ConfigError).problems).toEqual([
      'gateway.auth.token: at least 43 base64url characters (256 bits)',
    ]);

    // Reported once per change, not on every call.
    expect(await file.current()).toEqual(good);
    expect(errors).toHaveLength(1);

    await writeFileAtomic(paths.configPath, '{');
    expect(await file.current()).toEqual(good);
    expect(errors).toHaveLength(2);

    const fixed = { ...good, gateway: { ...good.gateway, port: 18_800 } };
    await writeFileAtomic(paths.configPath, serializeConfig(fixed));
    expect(await file.current()).toEqual(fixed);
    expect(errors).toHaveLength(2);
  });
});

describe('ConfigFile.update', () => {
  it('writes atomically, validates, and keeps the file private', async () => {
    const file = await ConfigFile.open(paths);
    const next = await file.update((config) => ({ ...config, gateway: { ...config.gateway, port: 18_790 } }));
    expect(next.gateway.port).toBe(18_790);
    expect(await readConfigFile(paths)).toEqual(next);
    expect(await modeOf(paths.configPath)).toBe(0o600);

    await expect(
      file.update((config) => ({ ...config, gateway: { ...config.gateway, port: -1 } })),
    ).rejects.toThrow();
    expect(await readConfigFile(paths)).toEqual(next);
    await expect(stat(lockPathOf(paths))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('loses no change when two ConfigFile instances update concurrently', async () => {
    const [a, b] = await Promise.all([ConfigFile.open(paths), ConfigFile.open(paths)]);
    const count = 15;
    await Promise.all(
      Array.from({ length: count }, (_, index) => [
        a.update((config) => withAgent(config, `a-${index}`)),
        b.update((config) => withAgent(config, `b-${index}`)),
      ]).flat(),
    );
    const ids = (await readConfigFile(paths))?.agents.list.map((agent) => agent.id) ?? [];
    expect(ids).toHaveLength(2 * count);
    for (let index = 0; index < count; index++)
      expect(ids).toEqual(expect.arrayContaining([`a-${index}`, `b-${index}`]));
    expect(await a.current()).toEqual(await b.current());
  });

  it('takes over a lock left by a process that no longer runs', async () => {
    const file = await ConfigFile.open(paths);
    const dead = spawnTs('store-holder.ts', []);
    await dead.exited;
    await writeFile(lockPathOf(paths), String(dead.pid));
    await file.update((config) => withAgent(config, 'after-crash'));
    expect((await readConfigFile(paths))?.agents.list.map((agent) => agent.id)).toEqual(['after-crash']);
    await expect(stat(lockPathOf(paths))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('loses no change when two processes update concurrently', async () => {
    await ConfigFile.open(paths);
    const count = 25;
    const children = ['p', 'q'].map((prefix) =>
      spawnTs('config-updater.ts', [paths.stateDir, prefix, String(count)]),
    );
    try {
      await Promise.all(children.map((child) => child.waitForLine((line) => line === 'ready')));
      for (const child of children) child.process.stdin.write('go\n');
      await Promise.all(children.map((child) => child.waitForLine((line) => line === 'done')));
      for (const child of children) expect(await child.exited).toEqual({ code: 0, signal: null });
    } finally {
      await Promise.all(children.map((child) => child.kill()));
    }
    const ids = (await readConfigFile(paths))?.agents.list.map((agent) => agent.id) ?? [];
    expect(ids).toHaveLength(2 * count);
    expect(new Set(ids)).toEqual(
      new Set(Array.from({ length: count }, (_, index) => [`p-${index}`, `q-${index}`]).flat()),
    );
    // The two writers really interleaved: neither ran all its updates before the other began.
    const last = (prefix: string) => ids.lastIndexOf(`${prefix}-${count - 1}`);
    const first = (prefix: string) => ids.indexOf(`${prefix}-0`);
    expect(first('q') < last('p') && first('p') < last('q')).toBe(true);
  });
});
