import { spawnSync } from 'node:child_process';
import { mkdir, unlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '@multiclaw/runtime/atomic-write';
import { EXIT } from './exit-codes.js';

export type ServicePlatform = 'linux' | 'darwin';
export const SYSTEMD_UNIT = 'multiclaw-gateway.service';
export const LAUNCHD_LABEL = 'ai.multiclaw.gateway';

export interface ServiceSpec {
  nodePath: string;
  entry: string;
  /** Variables that place the state and config, carried into the service when set at install time. */
  environment: Record<string, string>;
}

export function serviceSpec(env: NodeJS.ProcessEnv): ServiceSpec {
  const environment: Record<string, string> = {};
  for (const name of ['OPENCLAW_STATE_DIR', 'OPENCLAW_CONFIG_PATH'] as const) {
    const value = env[name];
    if (value) environment[name] = value;
  }
  return {
    nodePath: process.execPath,
    entry: fileURLToPath(new URL('../../bin/multiclaw-gateway.mjs', import.meta.url)),
    environment,
  };
}

export function servicePath(platform: ServicePlatform, env: NodeJS.ProcessEnv): string {
  const home = env.HOME || homedir();
  return platform === 'linux'
    ? join(env.XDG_CONFIG_HOME || join(home, '.config'), 'systemd', 'user', SYSTEMD_UNIT)
    : join(home, 'Library', 'LaunchAgents', `${LAUNCHD_LABEL}.plist`);
}

const quoteSystemd = (value: string) => `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

export function renderSystemdUnit(spec: ServiceSpec): string {
  const environment = Object.entries(spec.environment).map(
    ([name, value]) => `Environment=${quoteSystemd(`${name}=${value}`)}`,
  );
  return [
    '[Unit]',
    'Description=MultiClaw local gateway',
    'After=network.target',
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${quoteSystemd(spec.nodePath)} ${quoteSystemd(spec.entry)} start`,
    ...environment,
    'Restart=on-failure',
    'RestartSec=2',
    'UMask=0077',
    'NoNewPrivileges=yes',
    '',
    '[Install]',
    'WantedBy=default.target',
    '',
  ].join('\n');
}

const xml = (value: string) =>
  value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function renderLaunchdPlist(spec: ServiceSpec, logDir: string): string {
  const environment = Object.entries(spec.environment)
    .map(([name, value]) => `      <key>${xml(name)}</key>\n      <string>${xml(value)}</string>`)
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
  <dict>
    <key>Label</key>
    <string>${LAUNCHD_LABEL}</string>
    <key>ProgramArguments</key>
    <array>
      <string>${xml(spec.nodePath)}</string>
      <string>${xml(spec.entry)}</string>
      <string>start</string>
    </array>
    <key>EnvironmentVariables</key>
    <dict>
${environment}
    </dict>
    <key>RunAtLoad</key>
    <true/>
    <key>KeepAlive</key>
    <dict>
      <key>SuccessfulExit</key>
      <false/>
    </dict>
    <key>Umask</key>
    <integer>63</integer>
    <key>StandardOutPath</key>
    <string>${xml(join(logDir, 'gateway.log'))}</string>
    <key>StandardErrorPath</key>
    <string>${xml(join(logDir, 'gateway.log'))}</string>
  </dict>
</plist>
`;
}

function run(command: string, args: string[]): boolean {
  const result = spawnSync(command, args, { stdio: 'inherit' });
  return result.status === 0;
}

/** `service install`: writes the unit (or plist); with `--start` also enables and starts it. */
export async function runServiceInstall(
  env: NodeJS.ProcessEnv,
  options: { platform: ServicePlatform; start: boolean; stateDir: string },
): Promise<number> {
  const path = servicePath(options.platform, env);
  const spec = serviceSpec(env);
  const contents =
    options.platform === 'linux'
      ? renderSystemdUnit(spec)
      : renderLaunchdPlist(spec, join(options.stateDir, 'logs'));
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFileAtomic(path, contents, 0o644);
  process.stdout.write(`wrote ${path}\n`);
  const startCommands: [string, string[]][] =
    options.platform === 'linux'
      ? [
          ['systemctl', ['--user', 'daemon-reload']],
          ['systemctl', ['--user', 'enable', '--now', SYSTEMD_UNIT]],
        ]
      : [['launchctl', ['bootstrap', `gui/${process.getuid?.() ?? 501}`, path]]];
  if (!options.start) {
    process.stdout.write(
      `to start it now and at every login, run:\n${startCommands.map(([c, a]) => `  ${c} ${a.join(' ')}`).join('\n')}\n`,
    );
    return EXIT.OK;
  }
  for (const [command, args] of startCommands) if (!run(command, args)) return EXIT.UNAVAILABLE;
  return EXIT.OK;
}

/** `service uninstall`: stops (with `--stop`) and removes the unit (or plist). */
export async function runServiceUninstall(
  env: NodeJS.ProcessEnv,
  options: { platform: ServicePlatform; stop: boolean },
): Promise<number> {
  const path = servicePath(options.platform, env);
  if (options.stop) {
    if (options.platform === 'linux') run('systemctl', ['--user', 'disable', '--now', SYSTEMD_UNIT]);
    else run('launchctl', ['bootout', `gui/${process.getuid?.() ?? 501}`, path]);
  }
  try {
    await unlink(path);
    process.stdout.write(`removed ${path}\n`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    process.stdout.write(`nothing to remove: ${path} does not exist\n`);
  }
  return EXIT.OK;
}
