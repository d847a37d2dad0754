import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { cli, configPathOf, home, readConfig, startDaemon, track } from '../../test/support/cli.js';

/**
 * `status` and `doctor` tell "running but refusing us" apart from "not
 * running" and from "another program on the port", and say why (issue 11:
 * a refused CLI used to report "not running" / "port in use by another program").
 */

/** Points the CLI's config (its own token) at the port of a gateway started with another config. */
async function configOnPort(env: NodeJS.ProcessEnv, port: number) {
  expect(cli(['token', 'rotate'], env).code).toBe(0);
  const config = await readConfig(env);
  await writeFile(configPathOf(env), JSON.stringify({ ...config, gateway: { ...config.gateway, port } }), {
    mode: 0o600,
  });
}

describe('status and doctor against a gateway that refuses the CLI', () => {
  it('status exits 4 and says the gateway refuses this config’s token; doctor names the same reason', async () => {
    const daemon = startDaemon(await home());
    const port = Number(new URL(await daemon.listening).port);
    const env = await home();
    await configOnPort(env, port);

    const status = cli(['status'], env);
    expect(status.code).toBe(4);
    expect(status.stdout).toMatch(/^running on http:\/\/127\.0\.0\.1:\d+ but refusing this CLI: /);
    expect(status.stdout).toContain('refuses the token in this openclaw.json');
    expect(status.stdout).toContain('UNAUTHENTICATED');
    const json = JSON.parse(cli(['status', '--json'], env).stdout);
    expect(json).toMatchObject({ state: 'refusing', running: true, code: 'UNAUTHENTICATED' });

    const doctor = JSON.parse(cli(['doctor', '--json', '--offline'], env).stdout) as {
      checks: { name: string; ok: boolean; detail: string }[];
    };
    const portCheck = doctor.checks.find((check) => check.name === 'port');
    expect(portCheck?.ok).toBe(false);
    expect(portCheck?.detail).toContain('a gateway is running but refuses the token');
    expect(portCheck?.detail).not.toContain('another program');
  });

  it('another program on the port is named as such, and nothing listening is "not running" (exit 3)', async () => {
    const blocker = track(
      spawn(
        process.execPath,
        [
          '-e',
          "require('http').createServer((q,s)=>s.writeHead(401).end('nope')).listen(0,'127.0.0.1',function(){console.log(this.address().port)})",
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      ),
    );
    const port = Number(
      await new Promise<string>((resolve) => blocker.stdout.once('data', (d: Buffer) => resolve(String(d)))),
    );
    const env = await home();
    await configOnPort(env, port);
    const status = cli(['status'], env);
    expect(status.code).toBe(3);
    expect(status.stdout).toContain('is answered by another program (HTTP 401, not a MultiClaw gateway)');
    const doctor = cli(['doctor', '--offline'], env);
    expect(doctor.stdout).toMatch(/PROBLEM {2}port: .*another program.*set gateway\.port/);

    blocker.kill('SIGKILL');
    await new Promise((resolve) => blocker.once('exit', resolve));
    const stopped = cli(['status', '--json'], env);
    expect(stopped.code).toBe(3);
    expect(JSON.parse(stopped.stdout)).toMatchObject({ state: 'not running', running: false });
  });
});
