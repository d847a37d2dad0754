import { pathToFileURL } from 'node:url';
import { type Command, CommanderError, InvalidArgumentError } from 'commander';
import { type CrashingProgram, writeCrashLog } from './crash-log.js';
import { ExitCode } from './exit-codes.js';

/** A `--port <port>` option's parser: a whole number 0–65535, else commander's usage error. */
export function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new InvalidArgumentError('a port number 0–65535');
  return port;
}

/**
 * Runs a commander program on argv; resolves with the exit code (never calls process.exit itself).
 * `build` makes the program (with `.exitOverride()`) and gets `done`, which each action calls with
 * its exit code. --help and --version are 0; a bare command, a group without its subcommand or a
 * usage error print help and are 64 (EX_USAGE). Any other failure rejects.
 */
export function runCommander(
  build: (done: (code: number) => void) => Command,
  argv: string[],
): Promise<number> {
  return new Promise((resolve, reject) => {
    let acted = false;
    const program = build((code) => resolve(code));
    for (const command of program.commands) {
      command.hook('preAction', () => {
        acted = true;
      });
    }
    // `pnpm --filter <app> cli -- --help` (as the docs write it) passes the `--` through.
    const args = argv[0] === '--' ? argv.slice(1) : argv;
    program.parseAsync(args, { from: 'user' }).then(
      () => {
        // A bare command (or a group such as `token` without its subcommand): help, as a usage error.
        if (!acted) {
          program.outputHelp();
          resolve(ExitCode.USAGE);
        }
      },
      (error: unknown) => {
        if (!(error instanceof CommanderError)) return reject(error);
        resolve(
          ['commander.helpDisplayed', 'commander.version'].includes(error.code)
            ? ExitCode.OK
            : ExitCode.USAGE,
        );
      },
    );
  });
}

/** Whether the module at `moduleUrl` is what node was asked to run, itself or through its bin launcher. */
export function isMainModule(moduleUrl: string, program: Pick<CrashingProgram, 'command'>): boolean {
  const main = process.argv[1];
  return Boolean(main && (moduleUrl === pathToFileURL(main).href || main.endsWith(`${program.command}.mjs`)));
}

/**
 * A CLI's main: runs `run` with the process's arguments and exits with its code. Any unexpected
 * failure gets the crash log the docs promise for exit 70 (in `crashDir()`); the terminal gets
 * one line that names it, or the stack when no log could be written.
 */
export function runMain(
  program: CrashingProgram,
  run: (argv: string[]) => Promise<number>,
  crashDir: () => string,
): void {
  run(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      let details = '';
      try {
        details = `; details in ${writeCrashLog(crashDir(), program, error)}`;
      } catch {
        details = ` (no crash log could be written)\n${(error as Error).stack ?? ''}`;
      }
      process.stderr.write(
        `${program.command} failed: ${(error as Error).message ?? String(error)}${details}\n`,
      );
      process.exit(ExitCode.SOFTWARE);
    },
  );
}
