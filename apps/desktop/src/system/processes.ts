/**
 * The one door to other programs: the only host file allowed to import
 * node:child_process (src/architecture/one-door.test.ts proves it). Two
 * programs are ever started, both detached from the host: the local gateway
 * and the browser that shows the window.
 */
import { spawn } from 'node:child_process';
import { accessSync, closeSync, constants, openSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface Launched {
  pid: number | undefined;
  /** Resolves with the exit code (or the signal) if the program ends. */
  exited: Promise<number | string>;
}

/**
 * Starts `command args` detached, in its own process group, so it outlives
 * the host; its output goes to `logFile` (appended, 0600) or nowhere.
 */
export function launchDetached(
  command: string,
  args: readonly string[],
  options: { env: NodeJS.ProcessEnv; logFile?: string },
): Launched {
  const out = options.logFile ? openSync(options.logFile, 'a', 0o600) : 'ignore';
  try {
    const child = spawn(command, args, {
      detached: true,
      stdio: ['ignore', out, out],
      env: options.env,
    });
    const exited = new Promise<number | string>((resolve) => {
      child.once('error', () => resolve('failed to start'));
      child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
    });
    child.unref();
    return { pid: child.pid, exited };
  } finally {
    if (typeof out === 'number') closeSync(out);
  }
}

/** The first of `names` that is an executable file on PATH. */
export function findOnPath(names: readonly string[], path: string): string | undefined {
  for (const name of names) {
    if (name.includes('/')) {
      if (isExecutable(name)) return name;
      continue;
    }
    for (const dir of path.split(delimiter).filter(Boolean)) {
      const candidate = join(dir, name);
      if (isExecutable(candidate)) return candidate;
    }
  }
  return undefined;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
