import { isRefusal } from '@multiclaw/updater';
import type { Command } from 'commander';
import { EXIT } from '../cli/exit-codes.js';
import type { GatewayPaths } from '../config/paths.js';
import { ConfigError } from '../config/schema.js';
import { gatewayUpdate } from './gateway-update.js';
import { UpdateNotConfiguredError, versionsDir } from './gateway-updater.js';

const UPDATE_HELP = `
Nothing checks for updates on its own: the feed (update.feed in openclaw.json)
is contacted only by these commands. Every manifest and artifact must carry a
minisign signature by a pinned release key; an expired, older, other-channel
or altered release is refused. apply installs into <state dir>/versions/,
switches "current" atomically and starts the new version once; if it fails to
start, the previous version is restored. A running gateway keeps its version
until restarted.

Exit codes:
  0   up to date, an update is available (check), or installed (apply)
  1   refused: the reason and its code are printed (docs/releasing.md)
  69  the update feed could not be reached
  78  no update feed configured, or an invalid config`;

type Finish = (promise: Promise<number>) => void;

/** `update check` and `update apply`, registered on the gateway's command line. */
export function registerUpdateCommands(
  program: Command,
  paths: () => GatewayPaths,
  env: NodeJS.ProcessEnv,
  finish: Finish,
): void {
  const update = program
    .command('update')
    .description('check for and apply signed updates from the configured feed');
  update
    .command('check')
    .description('fetch and verify the release manifest; install nothing')
    .option('--json', 'print JSON', false)
    .addHelpText('after', UPDATE_HELP)
    .action((options: { json: boolean }) => finish(runUpdate('check', paths(), env, options)));
  update
    .command('apply')
    .description('download, verify, install and start the newer release; roll back if it fails to start')
    .option('--json', 'print JSON', false)
    .addHelpText('after', UPDATE_HELP)
    .action((options: { json: boolean }) => finish(runUpdate('apply', paths(), env, options)));
}

async function runUpdate(
  action: 'check' | 'apply',
  paths: GatewayPaths,
  env: NodeJS.ProcessEnv,
  options: { json: boolean },
): Promise<number> {
  const print = (text: string, json: unknown) =>
    process.stdout.write(options.json ? `${JSON.stringify(json)}\n` : `${text}\n`);
  try {
    const result = await gatewayUpdate(action, paths, env, (message) => process.stderr.write(`${message}\n`));
    if (result.status === 'up-to-date') {
      print(`up to date: ${result.version} is the newest release accepted.`, result);
    } else if (result.status === 'available') {
      const { version, channel, expires } = result.release;
      print(
        `${version} is available on "${channel}" (manifest valid until ${expires.toISOString()}). Run "multiclaw-gateway update apply" to install it.`,
        { status: 'available', version, channel, expires },
      );
    } else {
      print(
        `installed ${result.version} (was ${result.previous}) in ${versionsDir(paths)}; it started. Restart a running gateway to use it.`,
        result,
      );
    }
    return EXIT.OK;
  } catch (error) {
    return reportFailure(error, options.json);
  }
}

function reportFailure(error: unknown, json: boolean): number {
  const say = (code: string, message: string) =>
    process.stderr.write(
      json ? `${JSON.stringify({ status: 'refused', code, message })}\n` : `${message} (${code})\n`,
    );
  if (error instanceof UpdateNotConfiguredError) {
    say('UPDATE_NOT_CONFIGURED', error.message);
    return EXIT.CONFIG;
  }
  if (error instanceof ConfigError) {
    say('CONFIG_INVALID', error.message);
    return EXIT.CONFIG;
  }
  if (isRefusal(error)) {
    say(error.code, error.message);
    return error.code === 'DOWNLOAD_FAILED' ? EXIT.UNAVAILABLE : EXIT.PROBLEMS;
  }
  if ((error as { code?: string }).code === 'EGRESS_REFUSED') {
    say('EGRESS_REFUSED', (error as Error).message);
    return EXIT.UNAVAILABLE;
  }
  throw error;
}
