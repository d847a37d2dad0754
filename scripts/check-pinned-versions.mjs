#!/usr/bin/env node
// Fails when any package.json in the repository declares a dependency by a
// range instead of an exact version. Workspace links (`workspace:*`) are the
// one exception: they point into this repository, not at the registry.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const EXACT = /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;
const SECTIONS = ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies'];

const files = execFileSync(
  'git',
  ['ls-files', '--cached', '--others', '--exclude-standard', '*package.json'],
  {
    encoding: 'utf8',
  },
)
  .split('\n')
  .filter((file) => file.endsWith('package.json'));

const problems = [];
for (const file of files) {
  const manifest = JSON.parse(readFileSync(file, 'utf8'));
  for (const section of SECTIONS) {
    for (const [name, spec] of Object.entries(manifest[section] ?? {})) {
      if (spec === 'workspace:*') continue;
      if (!EXACT.test(spec)) problems.push(`${file}: ${section}.${name} is "${spec}"; pin an exact version`);
    }
  }
  if (file === 'package.json' && !/^pnpm@\d+\.\d+\.\d+$/.test(manifest.packageManager ?? '')) {
    problems.push('package.json: packageManager must pin pnpm to an exact version');
  }
}

if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(`pinned versions: ${files.length} package.json files, every dependency exact`);
