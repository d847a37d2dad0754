import type { Command } from 'commander';
import type { GatewayPaths } from '../config/paths.js';

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

/**
 * The updater (manifest and signature checks, semver, the download and swap) is loaded when
 * an update command runs, not by every start of the gateway.
 */
const runUpdate = async (...args: Parameters<typeof import('./update-run.js').runUpdate>) =>
  (await import('./update-run.js')).runUpdate(...args);

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
