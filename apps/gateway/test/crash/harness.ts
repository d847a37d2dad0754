/**
 * Parent-side helpers for the kill tests: spawn a TypeScript child with tsx's
 * loader, wait for the lines it prints, SIGKILL it and wait until it is reaped.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** apps/gateway: the directory `--import tsx` resolves tsx from. */
export const gatewayRoot = fileURLToPath(new URL('../..', import.meta.url));

export interface TsChild {
  readonly process: ChildProcessWithoutNullStreams;
  readonly pid: number;
  /** Complete stdout lines so far (a line counts only once its newline arrived). */
  readonly lines: string[];
  stderr(): string;
  /** Resolves with the first complete line matching; rejects if the child exits first. */
  waitForLine(match: (line: string) => boolean): Promise<string>;
  /** Resolves once the child has exited and been reaped (its pid no longer runs). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL, then wait until it is gone. */
  kill(): Promise<void>;
}

export function spawnTs(script: string, args: string[]): TsChild {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(gatewayRoot, 'test', 'crash', script), ...args],
    {
      cwd: gatewayRoot,
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  if (child.pid === undefined) throw new Error(`could not spawn ${script}`);
  const lines: string[] = [];
  let partial = '';
  let stderr = '';
  const waiters: { match: (line: string) => boolean; resolve: (line: string) => void }[] = [];
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (text: string) => {
    const parts = (partial + text).split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) {
      lines.push(line);
      for (const waiter of [...waiters]) {
        if (waiter.match(line)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
    }
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text: string) => {
    stderr += text;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
  return {
    process: child,
    pid: child.pid,
    lines,
    stderr: () => stderr,
    exited,
    waitForLine(match) {
      const seen = lines.find(match);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise<string>((resolve, reject) => {
        waiters.push({ match, resolve });
        void exited.then(({ code, signal }) =>
          reject(
            new Error(
              `${script} exited (code ${code}, signal ${signal}) before printing the expected line:\n${stderr}`,
            ),
          ),
        );
      });
    },
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** A promise that settles after `ms`: used only to pick a random kill point, never to wait for a result. */
export const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Like Promise.all, but waits for every lane to finish before failing, so none outlives the test's cleanup. */
export async function allLanes<T>(lanes: Promise<T>[]): Promise<T[]> {
  const settled = await Promise.allSettled(lanes);
  const failed = settled.find((result) => result.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((result) => (result as PromiseFulfilledResult<T>).value);
}
