import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Spec, Validation } from '@cyclonedx/cyclonedx-library';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { licenseProblems } from './license-policy.js';
import { pnpmLicenseReport } from './pnpm-report.js';
import { buildSbom } from './sbom.js';
import { workspaceRoot } from './supply-chain-command.js';

/** The supply-chain checks that run with `pnpm test` (this package's test task), on the real tree. */
const root = workspaceRoot(import.meta.dirname);
const report = pnpmLicenseReport(root);

describe('licence allowlist', () => {
  it('every installed dependency carries an allowed licence or a reviewed exception', () => {
    expect(Object.values(report).flat().length).toBeGreaterThan(100); // the real tree, not an empty report
    expect(licenseProblems(report)).toEqual([]);
  });

  it('flags a copyleft or unknown licence, and an exception granted for another licence', () => {
    const problems = licenseProblems({
      MIT: [{ name: 'fine', versions: ['1.0.0'] }],
      'GPL-3.0-only': [{ name: 'viral', versions: ['2.0.0'] }],
      Unknown: [{ name: 'mystery', versions: ['0.1.0'] }],
      'AGPL-3.0-only': [{ name: 'elkjs', versions: ['9.9.9'] }],
    });
    expect(problems.map((problem) => `${problem.name}:${problem.license}`)).toEqual([
      'elkjs:AGPL-3.0-only',
      'mystery:Unknown',
      'viral:GPL-3.0-only',
    ]);
  });
});

describe('CycloneDX SBOM from pnpm-lock.yaml', () => {
  const sbom = buildSbom(root, report);
  const parsed = JSON.parse(sbom) as {
    bomFormat: string;
    specVersion: string;
    components: {
      'bom-ref': string;
      purl: string;
      hashes?: { alg: string; content: string }[];
      licenses?: unknown[];
    }[];
  };

  it('is valid CycloneDX 1.6 JSON by the schema (the library’s strict validator)', async () => {
    expect(await new Validation.JsonStrictValidator(Spec.Version.v1dot6).validate(sbom)).toBeNull();
    expect(parsed).toMatchObject({ bomFormat: 'CycloneDX', specVersion: '1.6' });
  });

  it('lists every package of the lockfile with its purl, integrity hash and licence', () => {
    const lockfile = parse(readFileSync(join(root, 'pnpm-lock.yaml'), 'utf8')) as {
      packages: Record<string, unknown>;
    };
    expect(parsed.components.map((component) => component['bom-ref']).sort()).toEqual(
      Object.keys(lockfile.packages).sort(),
    );
    const noble = parsed.components.find((component) => component['bom-ref'] === '@noble/ed25519@3.2.0');
    expect(noble?.purl).toBe('pkg:npm/%40noble/ed25519@3.2.0');
    expect(noble?.hashes?.[0]?.alg).toBe('SHA-512');
    expect(noble?.hashes?.[0]?.content).toMatch(/^[0-9a-f]{128}$/);
    expect(noble?.licenses).toEqual([{ license: { id: 'MIT' } }]);
  });
});
