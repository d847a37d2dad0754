import { execFileSync } from 'node:child_process';
import type { PnpmLicenseReport } from './license-policy.js';

/** pnpm could not report on the tree (not installed, or its store is elsewhere). */
export class SupplyChainError extends Error {}

/**
 * Runs pnpm in the workspace root: the pnpm that runs us (npm_execpath, as
 * under `pnpm test`) or the one on PATH. Offline: pnpm reads the lockfile
 * and node_modules, it asks no registry.
 */
export function runPnpm(root: string, args: string[]): string {
  const execPath = process.env.npm_execpath;
  const viaNode = execPath && /pnpm/.test(execPath) && /\.c?js$/.test(execPath);
  try {
    return execFileSync(viaNode ? process.execPath : 'pnpm', viaNode ? [execPath, ...args] : args, {
      cwd: root,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      timeout: 300_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (error) {
    const output = `${(error as { stdout?: string }).stdout ?? ''}${(error as { stderr?: string }).stderr ?? ''}`;
    const message = /"message": "([^"]+)"/.exec(output)?.[1] ?? output.trim().split('\n').at(-1) ?? '';
    throw new SupplyChainError(`pnpm ${args.join(' ')} failed: ${message || (error as Error).message}`);
  }
}

export function pnpmLicenseReport(root: string): PnpmLicenseReport {
  return JSON.parse(runPnpm(root, ['licenses', 'list', '--json'])) as PnpmLicenseReport;
}
