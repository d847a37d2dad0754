/**
 * Which licences a dependency may carry (docs/supply-chain.md renders the
 * same policy in prose). Permissive licences are allowed outright; anything
 * else only for a named package, with the reason a reviewer accepted it.
 * A dependency whose licence is unknown or missing fails the check.
 */
export const ALLOWED_LICENSES: Readonly<Record<string, string>> = {
  MIT: 'permissive',
  'MIT-0': 'permissive, no attribution',
  ISC: 'permissive',
  '0BSD': 'permissive, no attribution',
  'BSD-2-Clause': 'permissive',
  'BSD-3-Clause': 'permissive',
  'Apache-2.0': 'permissive, with a patent grant',
  'BlueOak-1.0.0': 'permissive',
  Unlicense: 'public-domain dedication',
  'CC0-1.0': 'public-domain dedication',
  'MIT OR Apache-2.0': 'permissive either way',
  'MIT and ISC': 'both permissive',
};

/** Non-permissive licences accepted for one package each, and why. */
export const LICENSE_EXCEPTIONS: Readonly<Record<string, { license: string; why: string }>> = {
  elkjs: {
    license: 'EPL-2.0',
    why: 'graph layout inside Prisma Studio (prisma → @prisma/studio-core); used unmodified, never shipped modified; EPL-2.0 is file-level copyleft',
  },
  lightningcss: {
    license: 'MPL-2.0',
    why: 'CSS tooling inside vite, which vitest and the desktop UI build use; a build tool, used unmodified; MPL-2.0 is file-level copyleft',
  },
  'axe-core': {
    license: 'MPL-2.0',
    why: "the accessibility checker the desktop UI's browser tests inject into the page (a dev dependency, never shipped); used unmodified; MPL-2.0 is file-level copyleft",
  },
  'spdx-exceptions': {
    license: 'CC-BY-3.0',
    why: 'the SPDX list of licence exceptions, data read by the SBOM tool (release tooling only); attribution is kept in the package',
  },
  'lightningcss-linux-x64-gnu': {
    license: 'MPL-2.0',
    why: "lightningcss's prebuilt binary for Linux x64 (see lightningcss)",
  },
};

/** `pnpm licenses list --json`: licence → the packages under it. */
export type PnpmLicenseReport = Record<string, { name: string; versions: string[] }[]>;

export interface LicenseProblem {
  name: string;
  versions: string[];
  license: string;
}

export function licenseProblems(report: PnpmLicenseReport): LicenseProblem[] {
  const problems: LicenseProblem[] = [];
  for (const [license, packages] of Object.entries(report)) {
    for (const { name, versions } of packages) {
      if (license in ALLOWED_LICENSES) continue;
      if (LICENSE_EXCEPTIONS[name]?.license === license) continue;
      problems.push({ name, versions, license });
    }
  }
  return problems.sort((a, b) => a.name.localeCompare(b.name));
}
