import { chmod, lstat, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, configPathOf, home } from '../../test/support/cli.js';
import { ConfigFile, serializeConfig } from './config-file.js';
import { resolveGatewayPaths } from './paths.js';
import { defaultGatewayConfig } from './schema.js';
import { ConfigSymlinkError } from './symlinked-config.js';

/**
 * Issue 11: a symlinked openclaw.json skipped the permission check (`start
 * --strict` and `doctor` said ok while the target was 0644 in a 0755
 * directory), and `token rotate` replaced the link silently, leaving the old
 * token and API keys in the world-readable target.
 */

/** openclaw.json as a link to a 0644 file in a 0755 directory elsewhere under `homeDir`. */
async function symlinkedConfig(env: NodeJS.ProcessEnv) {
  const sharedDir = join(env.HOME as string, 'dotfiles');
  await mkdir(sharedDir, { mode: 0o755 });
  await chmod(sharedDir, 0o755);
  const target = join(sharedDir, 'openclaw.json');
  const config = defaultGatewayConfig();
  config.models.providers.acme = {
    api: 'openai-completions',
    baseUrl: 'https://api.acme.example/v1',
    apiKey: 'sk-acme-secret',
    allowedAgents: [],
  };
  await writeFile(target, serializeConfig(config), { mode: 0o644 });
  await chmod(target, 0o644);
  await mkdir(env.OPENCLAW_STATE_DIR as string, { mode: 0o700 });
  await symlink(target, configPathOf(env));
  return { target, token: config.gateway.auth.token };
}

describe('a symlinked openclaw.json', () => {
  it('is refused by start --strict and reported by doctor, both naming the target', async () => {
    const env = await home();
    const { target } = await symlinkedConfig(env);
    const strict = cli(['start', '--strict', '--port', '0'], env);
    expect(strict.code).toBe(78);
    expect(strict.stderr).toContain(`is a symbolic link to ${target} (mode 0644)`);
    expect((await lstat(configPathOf(env))).isSymbolicLink()).toBe(true);

    const doctor = cli(['doctor', '--offline'], env);
    expect(doctor.code).toBe(1);
    expect(doctor.stdout).toContain(
      `PROBLEM  config file: ${configPathOf(env)} is a symbolic link to ${target}`,
    );
  });

  it('token rotate warns that the target still holds the secrets, and writes the new token only to a private file', async () => {
    const env = await home();
    const { target, token: oldToken } = await symlinkedConfig(env);
    const rotated = cli(['token', 'rotate', '--show'], env);
    expect(rotated.code).toBe(0);
    expect(rotated.stderr).toContain(`${target} still holds the gateway token and any provider API keys`);
    const newToken = rotated.stdout.trim().split('\n').at(-1) as string;
    const info = await lstat(configPathOf(env));
    expect(info.isFile()).toBe(true);
    expect(info.mode & 0o777).toBe(0o600);
    const written = await readFile(configPathOf(env), 'utf8');
    expect(written).toContain(newToken);
    expect(written).toContain('sk-acme-secret');
    // The world-readable target never receives the new token.
    const left = await readFile(target, 'utf8');
    expect(left).not.toContain(newToken);
    expect(left).toContain(oldToken);
  });

  it('ConfigFile.open without strict replaces the link by a 0600 copy after the warning; with strict it throws', async () => {
    const env = await home();
    const { target } = await symlinkedConfig(env);
    const paths = resolveGatewayPaths(env);
    await expect(ConfigFile.open(paths, { strict: true, warn: () => {} })).rejects.toBeInstanceOf(
      ConfigSymlinkError,
    );
    const warnings: string[] = [];
    const config = await ConfigFile.open(paths, { warn: (message) => warnings.push(message) });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`symbolic link to ${target} (mode 0644)`);
    expect((await lstat(paths.configPath)).isSymbolicLink()).toBe(false);
    expect((await lstat(paths.configPath)).mode & 0o777).toBe(0o600);
    expect(config.cached().models.providers.acme?.apiKey).toBe('sk-acme-secret');
  });
});
