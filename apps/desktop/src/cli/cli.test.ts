import { type ChildProcess, spawn } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { DESKTOP_COMMANDS } from '@multiclaw/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../../bin/multiclaw-desktop.mjs', import.meta.url));
const URL_LINE = /^http:\/\/127\.0\.0\.1:(\d+)\/#secret=([A-Za-z0-9_-]{43})$/m;

let root: string;
const children: ChildProcess[] = [];
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mc-desktop-cli-'));
});
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A clean install: HOME in a fresh folder, nothing but PATH from this environment, no display. */
async function cleanEnv(extra: Record<string, string> = {}): Promise<NodeJS.ProcessEnv> {
  const home = await mkdtemp(join(root, 'home-'));
  return { HOME: home, PATH: process.env.PATH ?? '', MULTICLAW_DESKTOP_PORT: '0', ...extra };
}

/** Runs the real bin; resolves once it exits, or once `until` matches its stdout (then it keeps running). */
function run(args: string[], env: NodeJS.ProcessEnv, until?: RegExp) {
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = new Promise<void>((resolve, reject) => {
    if (!until) return exited.then(() => resolve());
    const check = () => {
      if (until.test(stdout)) resolve();
    };
    child.stdout.on('data', check);
    exited.then(() => reject(new Error(`exited before ${until}: ${stdout}\n${stderr}`)));
  });
  return { child, exited, ready, out: () => stdout, err: () => stderr };
}

describe('multiclaw-desktop', () => {
  it('has --help on the program and on start, and refuses an unknown option with 64', async () => {
    const env = await cleanEnv();
    const top = run(['--help'], env);
    expect(await top.exited).toBe(0);
    expect(top.out()).toContain('Usage: multiclaw-desktop');
    const start = run(['start', '--help'], env);
    expect(await start.exited).toBe(0);
    for (const option of ['--no-open', '--print-capabilities', '--port <port>'])
      expect(start.out()).toContain(option);
    const wrong = run(['start', '--open-sesame'], env);
    expect(await wrong.exited).toBe(64);
  });

  it('start --print-capabilities prints the effective table of the shipped files and exits', async () => {
    const printed = run(['start', '--print-capabilities'], await cleanEnv());
    expect(await printed.exited).toBe(0);
    const rows = printed
      .out()
      .split('\n')
      .map((line) => line.trim().split(/\s{2,}/));
    expect(rows[0]).toEqual(['WINDOW', 'COMMAND', 'EFFECT', 'WHY']);
    expect(rows).toContainEqual(['main', 'providers.replaceKey', 'allow', 'allowed by main']);
    expect(rows).toContainEqual(['chat', 'chat.send', 'allow', 'allowed by chat-window']);
    expect(rows).toContainEqual([
      'chat',
      'providers.replaceKey',
      'deny',
      'denied by credentials-main-only (deny wins)',
    ]);
    expect(rows).toContainEqual(['chat', 'settings.get', 'deny', 'not allowed (nothing allows it)']);
    expect(rows).toContainEqual([
      'chat',
      'updates.apply',
      'deny',
      'denied by credentials-main-only (deny wins)',
    ]);
    // Every command, for each of the 2 windows.
    expect(rows.filter((row) => row[0] === 'main' || row[0] === 'chat')).toHaveLength(
      DESKTOP_COMMANDS.length * 2,
    );
  });

  it('refuses to start (78) with a bad capability file, naming the file and the problem', async () => {
    const dir = await mkdtemp(join(root, 'caps-'));
    await writeFile(
      join(dir, 'main.json'),
      JSON.stringify({
        identifier: 'main',
        description: 'x',
        windows: ['main'],
        commands: { allow: ['chat.sendd'] },
      }),
    );
    for (const args of [
      ['start', '--no-open'],
      ['start', '--print-capabilities'],
    ]) {
      const refused = run(args, await cleanEnv({ MULTICLAW_DESKTOP_CAPABILITIES_DIR: dir }));
      expect(await refused.exited).toBe(78);
      expect(refused.err()).toContain(join(dir, 'main.json'));
      expect(refused.err()).toContain('commands.allow.0: no command "chat.sendd" exists');
      expect(refused.out()).not.toMatch(URL_LINE);
    }
  });

  it('start --no-open prints exactly the window URL on a line of its own, serves it, and stops on SIGTERM', async () => {
    const host = run(['start', '--no-open'], await cleanEnv(), URL_LINE);
    await host.ready;
    const [line, port] = URL_LINE.exec(host.out()) ?? [];
    expect(host.out().split('\n')).toContain(line);
    const page = await fetch(`http://127.0.0.1:${port}/`);
    expect(page.status).toBe(200);
    host.child.kill('SIGTERM');
    expect(await host.exited).toBe(0);
  });

  it('opens the window in a Chromium-family browser in app mode with its own profile', async () => {
    const bin = await mkdtemp(join(root, 'bin-'));
    const argsFile = join(bin, 'args.txt');
    // A stand-in named like the real one: it records how it was launched.
    await writeFile(join(bin, 'chromium'), `#!/bin/sh\nprintf '%s\\n' "$@" > "${argsFile}"\n`);
    await chmod(join(bin, 'chromium'), 0o755);
    const env = await cleanEnv({ PATH: `${bin}:/usr/bin:/bin`, DISPLAY: ':99' });
    const host = run(['start'], env, /desktop host listening/);
    await host.ready;
    let args = '';
    for (let i = 0; i < 100 && !args; i++) {
      args = await readFile(argsFile, 'utf8').catch(() => '');
      if (!args) await sleep(100);
    }
    const lines = args.trim().split('\n');
    expect(lines[0]).toMatch(/^--app=http:\/\/127\.0\.0\.1:\d+\/#secret=[A-Za-z0-9_-]{43}$/);
    expect(lines).toContain(
      `--user-data-dir=${join(env.HOME as string, '.multiclaw', 'desktop', 'browser-profile')}`,
    );
    expect(lines).toContain('--no-first-run');
    // The secret is handed to the window, not printed.
    expect(host.out()).not.toMatch(URL_LINE);
    host.child.kill('SIGTERM');
    expect(await host.exited).toBe(0);
  });

  it('prints the URL when there is no display to open a window on', async () => {
    const host = run(['start'], await cleanEnv(), URL_LINE);
    await host.ready;
    // Standard error is its own pipe: its line may arrive after the URL on standard output.
    for (let i = 0; i < 200 && !host.err().includes('no display'); i++) await sleep(100);
    expect(host.err()).toContain('no display');
    host.child.kill('SIGTERM');
    expect(await host.exited).toBe(0);
  });

  it('keeps its state private: 0700 state directory', async () => {
    const env = await cleanEnv();
    const host = run(['start', '--no-open'], env, URL_LINE);
    await host.ready;
    expect((await stat(join(env.HOME as string, '.multiclaw', 'desktop'))).mode & 0o777).toBe(0o700);
    host.child.kill('SIGTERM');
    expect(await host.exited).toBe(0);
  });
});
