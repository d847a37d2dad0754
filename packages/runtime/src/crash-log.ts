import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode } from './exit-codes.js';

/** The program a crash report is about: its command name (`multiclaw-gateway`) and version. */
export interface CrashingProgram {
  /** The command a person types; the report's title is "MultiClaw <name without the prefix>". */
  command: string;
  version: string;
}

/** "multiclaw-gateway" → "MultiClaw gateway", the name the report's first line gives. */
const titleOf = (command: string) => command.replace(/^multiclaw-/, 'MultiClaw ');

/**
 * Writes a crash report into the state directory (0600, in a 0700 folder) and nowhere else:
 * MultiClaw has no telemetry and never reports crashes over the network. Returns its path.
 */
export function writeCrashLog(
  crashDir: string,
  program: CrashingProgram,
  error: unknown,
  now = new Date(),
): string {
  mkdirSync(crashDir, { recursive: true, mode: 0o700 });
  const path = join(crashDir, `crash-${now.toISOString().replace(/[:.]/g, '-')}-${process.pid}.log`);
  const detail = error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
  const report = [
    `${titleOf(program.command)} ${program.version} crashed at ${now.toISOString()}`,
    `node ${process.version} ${process.platform}/${process.arch} pid ${process.pid}`,
    '',
    detail,
    '',
  ].join('\n');
  writeFileSync(path, report, { mode: 0o600, flag: 'wx' });
  return path;
}

/** The crash logs in a directory, newest first (names only). */
export function listCrashLogs(crashDir: string): string[] {
  try {
    return readdirSync(crashDir)
      .filter((name) => name.startsWith('crash-') && name.endsWith('.log'))
      .sort()
      .reverse();
  } catch {
    return [];
  }
}

/** On an uncaught error: write the crash log, say where it is, exit 70 (EX_SOFTWARE). */
export function installCrashHandler(crashDir: string, program: CrashingProgram): void {
  const crash = (error: unknown) => {
    try {
      process.stderr.write(
        `${program.command} crashed; details in ${writeCrashLog(crashDir, program, error)}\n`,
      );
    } finally {
      process.exit(ExitCode.SOFTWARE);
    }
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
}
