import { isMainModule, parsePort, runCommander, runMain } from '@multiclaw/runtime/cli';
import { Command } from 'commander';
import { parseDesktopEnv, resolveDesktopPaths } from '../config.js';
import { DESKTOP_PROGRAM, DESKTOP_VERSION } from '../version.js';
import { EXIT_CODES_HELP } from './exit-codes.js';
import { runStart, type StartOptions } from './start.js';

const START_HELP = `
The window's URL carries a secret made for this launch only
(http://127.0.0.1:<port>/#secret=<secret>); every command the window calls
presents it. What each window may call is decided by the capability files in
apps/desktop/capabilities (see docs/desktop.md and --print-capabilities).
`;

/** Builds the `multiclaw-desktop` command line; each action resolves with an exit code. */
export function buildCli(env: NodeJS.ProcessEnv, done: (code: number) => void): Command {
  const program = new Command('multiclaw-desktop')
    .description('The MultiClaw desktop: a window onto your local agents, served by a host on 127.0.0.1')
    .version(DESKTOP_VERSION)
    .addHelpText('after', EXIT_CODES_HELP)
    .showHelpAfterError()
    .exitOverride();

  program
    .command('start')
    .description('run the desktop host in the foreground and open its window (Ctrl-C stops it)')
    .option('--no-open', 'open no window: print the window URL on a line of its own')
    .option(
      '--print-capabilities',
      'print what each window may call, from the capability files, and exit',
      false,
    )
    .option(
      '--port <port>',
      'listen on this port instead of MULTICLAW_DESKTOP_PORT (0: any free port)',
      parsePort,
    )
    .addHelpText('after', `${START_HELP}${EXIT_CODES_HELP}`)
    .action((options: StartOptions) => runStart(env, options).then(done));
  return program;
}

/** Runs the CLI with argv; resolves with the exit code (never calls process.exit itself). */
export function runCli(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return runCommander((done) => buildCli(env, done), argv);
}

if (isMainModule(import.meta.url, DESKTOP_PROGRAM)) {
  runMain(DESKTOP_PROGRAM, runCli, () => resolveDesktopPaths(parseDesktopEnv(process.env)).crashDir);
}
