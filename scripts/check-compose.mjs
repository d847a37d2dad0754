#!/usr/bin/env node
// Validates docker-compose.yml so that it cannot rot on machines without a
// Docker engine. Debian's docker-compose (1.29) runs `config` without an
// engine and checks the file against its copy of the Compose Specification,
// which predates the top-level `name`: that one key is checked here instead
// and removed before the rest is handed over. Then our own rules: every
// published port is bound to loopback, and PostgreSQL can be started alone.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const source = readFileSync('docker-compose.yml', 'utf8');
const problems = [];

const name = /^name:\s*(\S+)\s*$/m.exec(source)?.[1];
// The Compose Specification's rule for a project name.
if (!name || !/^[a-z0-9][a-z0-9_-]*$/.test(name)) problems.push(`top-level name "${name}" is not a valid project name`);

let resolved;
let ports = [];
const scratch = mkdtempSync(join(tmpdir(), 'compose-check-'));
try {
  writeFileSync(join(scratch, 'docker-compose.yml'), source.replace(/^name:.*$/m, ''));
  writeFileSync(join(scratch, '.env'), '');
  resolved = execFileSync('docker-compose', ['-f', join(scratch, 'docker-compose.yml'), 'config'], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, POSTGRES_PASSWORD: 'compose-check' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
} catch (error) {
  if (error.code === 'ENOENT') {
    // CI installs it (.ci/run), so there a missing tool fails; elsewhere the check is skipped, loudly.
    const how = 'docker-compose is not installed (Debian: apt-get install --no-install-recommends docker-compose)';
    if (process.env.CI) {
      console.error(`check-compose: ${how}`);
      process.exit(1);
    }
    console.warn(`check-compose: skipped, ${how}`);
    process.exit(0);
  }
  problems.push(`docker-compose config refused the file:\n${error.stderr || error.message}`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

if (resolved) {
  // `config` prints each published port as `- [host_ip:]published:target/proto`.
  ports = [...resolved.matchAll(/^ +ports:\n((?: +- .*\n)+)/gm)].flatMap((block) =>
    block[1].trim().split('\n').map((line) => line.replace(/^\s*- /, '')),
  );
  if (ports.length === 0) problems.push('no published ports found: the cloud must publish one');
  for (const port of ports) {
    if (!port.startsWith('127.0.0.1:')) problems.push(`port ${port} is not bound to 127.0.0.1`);
  }
  if (!/^ {2}postgres:\n(?: {4}.*\n)*? {4}image: postgres:/m.test(resolved)) problems.push('no postgres service');
}

if (problems.length > 0) {
  console.error(`docker-compose.yml:\n- ${problems.join('\n- ')}`);
  process.exit(1);
}
console.log(`docker-compose.yml: valid (docker-compose config); ${ports.length} published ports, all on loopback`);
