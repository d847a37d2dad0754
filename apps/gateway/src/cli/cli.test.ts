import { spawn, spawnSync } from 'node:child_process';
import { chmod, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BIN, cli, cliInProcess, home, readConfig, startDaemon, track } from '../../test/support/cli.js';

const CRASH_FIXTURE = fileURLToPath(new URL('../../test/fixtures/crash-now.ts', import.meta.url));

describe('multiclaw-gateway CLI', () => {
  it('has --help on every command and clear exit codes for usage errors', async () => {
    const env = await home();
    for (const args of [
      ['--help'],
      // What `pnpm --filter @multiclaw/gateway cli -- --help` (the documented form) passes.
      ['--', '--help'],
      ['start', '--help'],
      ['status', '--help'],
      ['token', 'rotate', '--help'],
      ['doctor', '--help'],
      ['service', 'install', '--help'],
      ['service', 'uninstall', '--help'],
    ]) {
      const result = await cliInProcess(args, env);
      expect(result.code, args.join(' ')).toBe(0);
      expect(result.stdout).toContain('Usage: multiclaw-gateway');
      expect(result.stdout).toContain('Exit codes:');
    }
    expect((await cliInProcess(['bogus'], env)).code).toBe(64);
    expect((await cliInProcess(['start', '--port', 'eighty'], env)).code).toBe(64);
    expect((await cliInProcess([], env)).code).toBe(64);
    // The installed binary itself, once: the same help and exit codes through a real process.
    const viaBinary = cli(['--', '--help'], env);
    expect(viaBinary.code).toBe(0);
    expect(viaBinary.stdout).toContain('Usage: multiclaw-gateway');
    expect(cli(['bogus'], env).code).toBe(64);
  });

  it('start creates a private config, status sees it, SIGTERM stops it cleanly', async () => {
    const env = await home();
    expect(cli(['status'], env).code).toBe(3);
    const daemon = startDaemon(env);
    const url = await daemon.listening;
    const state = env.OPENCLAW_STATE_DIR as string;
    expect((await stat(state)).mode & 0o777).toBe(0o700);
    expect((await stat(join(state, 'openclaw.json'))).mode & 0o777).toBe(0o600);
    const config = await readConfig(env);
    expect(config.gateway.auth.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // status reads the port from the config: point it at the port this daemon got.
    const port = Number(new URL(url).port);
    await writeFile(
      join(state, 'openclaw.json'),
      JSON.stringify({ ...config, gateway: { ...config.gateway, port } }),
    );
    const status = cli(['status', '--json'], env);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ running: true, status: { pid: daemon.child.pid } });
    daemon.child.kill('SIGTERM');
    expect(await daemon.exited).toBe(0);
    expect(cli(['status'], env).code).toBe(3);
  });

  it('token rotate replaces the token; the running gateway refuses the old one at once', async () => {
    const env = await home();
    const daemon = startDaemon(env);
    const url = await daemon.listening;
    const before = (await readConfig(env)).gateway.auth.token;
    const ok = await fetch(`${url}/v1/models`, { headers: { authorization: `Bearer ${before}` } });
    expect(ok.status).toBe(200);
    const rotated = cli(['token', 'rotate', '--show'], env);
    expect(rotated.code).toBe(0);
    const after = (await readConfig(env)).gateway.auth.token;
    expect(after).not.toBe(before);
    expect(rotated.stdout).toContain(after);
    expect((await fetch(`${url}/v1/models`, { headers: { authorization: `Bearer ${before}` } })).status).toBe(
      401,
    );
    expect((await fetch(`${url}/v1/models`, { headers: { authorization: `Bearer ${after}` } })).status).toBe(
      200,
    );
  });

  it('refuses an invalid config naming the key path (exit 78)', async () => {
    const env = await home();
    expect(cli(['token', 'rotate'], env).code).toBe(0);
    const path = join(env.OPENCLAW_STATE_DIR as string, 'openclaw.json');
    const config = JSON.parse(await readFile(path, 'utf8'));
    await writeFile(
      path,
      JSON.stringify({ ...config, gateway: { ...config.gateway, port: 'high', colour: 'blue' } }),
      { mode: 0o600 },
    );
    const result = cli(['start'], env);
    expect(result.code).toBe(78);
    expect(result.stderr).toContain('gateway.port');
    expect(result.stderr).toContain('gateway.colour: unknown key');
    const doctor = cli(['doctor', '--offline'], env);
    expect(doctor.code).toBe(1);
    expect(doctor.stdout).toContain('gateway.colour: unknown key');
  });

  it('--strict refuses loose permissions (exit 78); without it start repairs them', async () => {
    const env = await home();
    expect(cli(['token', 'rotate'], env).code).toBe(0);
    const path = join(env.OPENCLAW_STATE_DIR as string, 'openclaw.json');
    await chmod(path, 0o644);
    const strict = cli(['start', '--strict', '--port', '0'], env);
    expect(strict.code).toBe(78);
    expect(strict.stderr).toContain(`${path} is 0644`);
    expect((await stat(path)).mode & 0o777).toBe(0o644);
    expect(cli(['doctor', '--offline'], env).stdout).toContain('PROBLEM  permissions');
    const daemon = startDaemon(env);
    await daemon.listening;
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(daemon.output()).toContain('repaired permissions');
  });

  it('a second gateway on the same state directory exits 69', async () => {
    const env = await home();
    const first = startDaemon(env);
    await first.listening;
    const second = cli(['start', '--port', '0'], env);
    expect(second.code).toBe(69);
    expect(second.stderr).toContain(`process ${first.child.pid}`);
  });

  it('doctor reports a port taken by another program and an unreachable provider', async () => {
    const env = await home();
    expect(cli(['token', 'rotate'], env).code).toBe(0);
    const blocker = track(
      spawn(
        process.execPath,
        [
          '-e',
          "require('http').createServer().listen(0,'127.0.0.1',function(){console.log(this.address().port)})",
        ],
        {
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      ),
    );
    const port = Number(
      await new Promise<string>((resolve) =>
        blocker.stdout.once('data', (d: Buffer) => resolve(d.toString().trim())),
      ),
    );
    const path = join(env.OPENCLAW_STATE_DIR as string, 'openclaw.json');
    const config = JSON.parse(await readFile(path, 'utf8'));
    config.gateway.port = port;
    config.models = {
      providers: { gone: { api: 'openai-completions', baseUrl: 'http://127.0.0.1:9/v1', allowedAgents: [] } },
    };
    await writeFile(path, JSON.stringify(config), { mode: 0o600 });
    const doctor = cli(['doctor', '--json'], env);
    expect(doctor.code).toBe(1);
    const report = JSON.parse(doctor.stdout) as { checks: { name: string; ok: boolean; detail: string }[] };
    expect(report.checks.find((check) => check.name === 'port')).toMatchObject({ ok: false });
    expect(report.checks.find((check) => check.name === 'provider gone')).toMatchObject({ ok: false });
    expect(report.checks.find((check) => check.name === 'config')).toMatchObject({ ok: true });
  });

  it('service install writes (but does not start) a systemd user unit and a launchd plist; uninstall removes them', async () => {
    const env = { ...(await home()), XDG_CONFIG_HOME: '' };
    const linux = cli(['service', 'install', '--platform', 'linux'], env);
    expect(linux.code).toBe(0);
    expect(linux.stdout).toContain('systemctl --user enable --now multiclaw-gateway.service');
    const unitPath = join(env.HOME, '.config', 'systemd', 'user', 'multiclaw-gateway.service');
    const unit = await readFile(unitPath, 'utf8');
    expect(unit).toContain(`ExecStart="${process.execPath}" "${BIN}" start`);
    expect(unit).toContain(`Environment="OPENCLAW_STATE_DIR=${env.OPENCLAW_STATE_DIR}"`);
    expect(unit).toMatch(/\[Install\]\nWantedBy=default.target/);
    const darwin = cli(['service', 'install', '--platform', 'darwin'], env);
    expect(darwin.code).toBe(0);
    const plistPath = join(env.HOME, 'Library', 'LaunchAgents', 'ai.multiclaw.gateway.plist');
    const plist = await readFile(plistPath, 'utf8');
    expect(plist).toContain('<string>ai.multiclaw.gateway</string>');
    expect(plist).toContain(`<string>${BIN}</string>`);
    if (spawnSync('plutil', ['-help']).status !== null)
      expect(spawnSync('plutil', ['-lint', plistPath]).status).toBe(0);
    expect(cli(['service', 'uninstall', '--platform', 'linux'], env).code).toBe(0);
    expect(cli(['service', 'uninstall', '--platform', 'darwin'], env).code).toBe(0);
    await expect(stat(unitPath)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(stat(plistPath)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('an uncaught error writes a 0600 crash log in the state directory and exits 70', async () => {
    const env = await home();
    const crashDir = join(env.OPENCLAW_STATE_DIR as string, 'crash');
    const result = spawnSync(process.execPath, ['--import', 'tsx', CRASH_FIXTURE, crashDir], {
      env,
      encoding: 'utf8',
    });
    expect(result.status).toBe(70);
    const [log] = await readdir(crashDir);
    expect(log).toMatch(/^crash-.*\.log$/);
    const path = join(crashDir, log as string);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readFile(path, 'utf8')).toContain('simulated bug');
    expect(result.stderr).toContain(path);
  });
});
