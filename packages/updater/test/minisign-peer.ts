import { execFileSync, spawnSync } from 'node:child_process';

/**
 * Debian's `minisign`, the reference implementation our verifier and signer
 * are tested against. Missing, it fails the test run with one line saying how
 * to install it — never a silent skip (.ci/run installs it).
 */
export function requireMinisign(): string {
  const found = spawnSync('sh', ['-c', 'command -v minisign'], { encoding: 'utf8' }).stdout.trim();
  if (!found) {
    throw new Error(
      "Debian's minisign is not installed; the interop tests need it: apt-get install -y minisign",
    );
  }
  return found;
}

export interface PeerResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs minisign with `input` on standard input (a password, for encrypted keys). */
export function minisign(args: string[], options: { cwd: string; input?: string }): PeerResult {
  const result = spawnSync(requireMinisign(), args, {
    cwd: options.cwd,
    input: options.input ?? '',
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** minisign that must succeed; its output on failure is the test's message. */
export function minisignOk(args: string[], options: { cwd: string; input?: string }): string {
  const result = minisign(args, options);
  if (result.status !== 0) {
    throw new Error(`minisign ${args.join(' ')} exited ${result.status}: ${result.stderr}${result.stdout}`);
  }
  return result.stdout;
}

export const minisignVersion = () => execFileSync(requireMinisign(), ['-v'], { encoding: 'utf8' }).trim();
