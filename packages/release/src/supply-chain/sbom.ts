import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Contrib, Enums, Models, Serialize, Spec } from '@cyclonedx/cyclonedx-library';
import { PackageURL } from 'packageurl-js';
import parseSpdx from 'spdx-expression-parse';
import { parse } from 'yaml';
import type { PnpmLicenseReport } from './license-policy.js';

/**
 * A CycloneDX 1.6 JSON SBOM of every package in pnpm-lock.yaml, built with
 * the CycloneDX project's own library (no hand-written format): name,
 * version, purl, the lockfile's integrity hash, and the licence pnpm read
 * from the installed package.
 */
export function buildSbom(root: string, licenses: PnpmLicenseReport, now = new Date()): string {
  const lockfile = parse(readFileSync(join(root, 'pnpm-lock.yaml'), 'utf8')) as {
    packages?: Record<string, { resolution?: { integrity?: string } }>;
  };
  const rootManifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string };
  const licenseOf = new Map<string, string>();
  for (const [license, packages] of Object.entries(licenses)) {
    for (const { name, versions } of packages)
      for (const version of versions) licenseOf.set(`${name}@${version}`, license);
  }

  const licenseFactory = new Contrib.License.Factories.LicenseFactory((expression) => {
    parseSpdx(expression);
  });
  const bom = new Models.Bom();
  bom.serialNumber = Contrib.Bom.Utils.randomSerialNumber();
  bom.metadata.timestamp = now;
  bom.metadata.component = new Models.Component(Enums.ComponentType.Application, rootManifest.name, {
    bomRef: rootManifest.name,
  });
  bom.metadata.tools.components.add(
    new Models.Component(Enums.ComponentType.Library, 'cyclonedx-library', { group: '@cyclonedx' }),
  );
  for (const [key, entry] of Object.entries(lockfile.packages ?? {})) {
    const at = key.lastIndexOf('@');
    const name = key.slice(0, at);
    const version = key.slice(at + 1);
    const [namespace, bare] = name.startsWith('@') ? name.split('/') : [undefined, name];
    const license = licenseOf.get(key);
    const hashes = new Models.HashDictionary();
    const integrity = entry.resolution?.integrity;
    if (integrity?.startsWith('sha512-')) {
      hashes.set(Enums.HashAlgorithm['SHA-512'], Buffer.from(integrity.slice(7), 'base64').toString('hex'));
    }
    bom.components.add(
      new Models.Component(Enums.ComponentType.Library, bare ?? name, {
        bomRef: key,
        group: namespace,
        version,
        purl: new PackageURL('npm', namespace, bare ?? name, version, undefined, undefined).toString(),
        hashes,
        licenses: license
          ? new Models.LicenseRepository([licenseFactory.makeFromString(license)])
          : undefined,
      }),
    );
  }
  const serializer = new Serialize.JsonSerializer(new Serialize.JSON.Normalize.Factory(Spec.Spec1dot6));
  return serializer.serialize(bom, { sortLists: true, space: 2 });
}
