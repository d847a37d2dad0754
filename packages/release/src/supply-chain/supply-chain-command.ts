import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { CliIo } from '../cli.js';
import { LICENSE_EXCEPTIONS, licenseProblems } from './license-policy.js';
import { pnpmLicenseReport } from './pnpm-report.js';
import { buildSbom } from './sbom.js';

/** The workspace root: the nearest directory up from `from` with pnpm-workspace.yaml. */
export function workspaceRoot(from = process.cwd()): string {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml'))) return dir;
    if (dirname(dir) === dir)
      throw new Error('Not inside the MultiClaw workspace (no pnpm-workspace.yaml above here).');
  }
}

/** `multiclaw-release licenses`: every installed dependency's licence against the policy (docs/supply-chain.md). */
export async function checkLicenses(args: string[], io: CliIo): Promise<number> {
  parseArgs({ args, strict: true, options: {} });
  const report = pnpmLicenseReport(workspaceRoot());
  const problems = licenseProblems(report);
  const count = Object.values(report).reduce((sum, packages) => sum + packages.length, 0);
  if (problems.length === 0) {
    io.out(
      `licences: ${count} packages, every licence allowed (${Object.keys(LICENSE_EXCEPTIONS).length} reviewed exceptions)\n`,
    );
    return 0;
  }
  for (const problem of problems) {
    io.err(`${problem.name}@${problem.versions.join(', ')}: "${problem.license}" is not on the allowlist\n`);
  }
  io.err(
    'Review each one (docs/supply-chain.md) and add it to LICENSE_EXCEPTIONS with the reason, or drop the dependency.\n',
  );
  return 1;
}

/** `multiclaw-release sbom [-o file]`: the CycloneDX JSON SBOM of the lockfile. */
export async function writeSbom(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args, strict: true, options: { o: { type: 'string' } } });
  const root = workspaceRoot();
  const sbom = buildSbom(root, pnpmLicenseReport(root));
  if (values.o) {
    writeFileSync(values.o, sbom);
    io.out(`Wrote ${values.o} (CycloneDX 1.6 JSON).\n`);
  } else {
    io.out(sbom);
  }
  return 0;
}
