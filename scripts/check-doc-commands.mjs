#!/usr/bin/env node
// Every command the docs tell a reader to run must work as written. This check
// extracts them (scripts/doc-commands/extract.mjs) and holds each one to the
// table HOW below, which says how it is exercised:
// - run here, when it is cheap: the documented form itself, or, where it needs a
//   placeholder filled in or would change something, its `--help` form;
// - by a named test or CI step, which must still contain the quoted text;
// - by hand, with the reason, for the very few that can run in neither.
// A documented command missing from HOW fails the check, and so does an entry
// of HOW that no document mentions any more. Needs the cloud and the gateway
// built (turbo runs it after their builds; see turbo.json, "//#check-docs").
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { extractCommands } from './doc-commands/extract.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The documents whose commands must work; a missing one (apps/cloud/README.md today) is skipped. */
const DOCS = [
  'README.md',
  'apps/gateway/README.md',
  'apps/cloud/README.md',
  'docs/gateway.md',
  'docs/self-hosting.md',
  'docs/database.md',
  'bench/README.md',
  'docs/releasing.md',
  'docs/supply-chain.md',
  'docs/backup.md',
];
/** Tables whose first column lists a program's sub-commands without the program's name. */
const TABLES = { 'docs/gateway.md': [{ heading: 'Commands', program: 'multiclaw-gateway' }] };

for (const built of ['apps/cloud/dist/server.js']) {
  if (!existsSync(join(ROOT, built))) {
    console.error(
      `documented commands: ${built} is missing; build first (pnpm build), or run this as part of pnpm test`,
    );
    process.exit(1);
  }
}

const scratch = mkdtempSync(join(tmpdir(), 'doc-commands-'));
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));

// ---------------------------------------------------------------- exercises

/**
 * Runs `command` with bash in the repository root, in a clean environment with a scratch HOME.
 * `timeoutMs` is generous: on a loaded 2-core machine a deploy took over two minutes.
 */
function shell(command, { cwd = ROOT, env = {}, timeoutMs = 300_000 } = {}) {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', command], {
      cwd,
      env: { PATH: process.env.PATH, HOME: join(scratch, 'home'), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: timeoutMs,
    });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    child.on('close', (code, signal) => resolve({ code: signal ? signal : code, output }));
  });
}

const memo = new Map();
/** One run per distinct key, however many entries share it. */
const once = (key, make) => {
  if (!memo.has(key)) memo.set(key, make());
  return memo.get(key);
};

/** Runs `command` (here, in the repository root) and expects its exit code and output. */
function runs(command, { code = 0, output, env, cwd, also } = {}) {
  const where = cwd ? ` in ${cwd}` : '';
  return {
    kind: 'run',
    describe: `runs \`${command}\`${where}, expects exit ${code}${output ? ` and ${output}` : ''}`,
    async check() {
      const result = await once(JSON.stringify([command, env, cwd]), () =>
        shell(command, { env, cwd: resolve(ROOT, cwd ?? '.') }),
      );
      const shown = result.output.trim().split('\n').slice(-15).join('\n');
      if (result.code !== code) return `\`${command}\`${where} exited ${result.code}, not ${code}:\n${shown}`;
      if (output && !output.test(result.output))
        return `\`${command}\`${where} did not print ${output}:\n${shown}`;
      return also?.(result.output);
    },
  };
}

/** Names the test (or CI step) that exercises the command; the file must still contain `contains`. */
function tested(file, contains) {
  return {
    kind: 'test',
    describe: `${file} ("${contains}")`,
    async check() {
      const path = join(ROOT, file);
      if (!existsSync(path)) return `${file}, named as what exercises it, does not exist`;
      if (!readFileSync(path, 'utf8').includes(contains)) return `${file} no longer contains "${contains}"`;
    },
  };
}

/** Neither cheap enough to run here nor run by a test: the reason is printed on every run. */
function byHand(reason) {
  return { kind: 'hand', describe: reason, check: async () => undefined };
}

/**
 * A `multiclaw-gateway` form: the installed binary's `--help` for its sub-command must
 * be that sub-command's (an unknown one prints the top-level help, exit 0) and
 * list every `--option` the form shows.
 */
function gatewayForm(form) {
  const words = [];
  for (const word of form.split(' ').slice(1)) {
    if (/^[[<-]/.test(word)) break;
    words.push(word);
  }
  const usage = `Usage: multiclaw-gateway ${words.join(' ')}`.trim();
  return runs(`node apps/gateway/bin/multiclaw-gateway.mjs ${[...words, '--help'].join(' ')}`, {
    output: new RegExp(`^${usage.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}( |$)`, 'm'),
    also(output) {
      const missing = (form.match(/--[a-z][a-z-]*/g) ?? []).filter((flag) => !output.includes(flag));
      if (missing.length > 0) return `\`${usage} --help\` does not list ${missing.join(', ')}`;
    },
  });
}

/** The production variables the docs export must be exactly those the compiled server requires. */
function requiresExactly(exportLine) {
  const documented = exportLine
    .split(' ')
    .slice(1)
    .map((word) => word.split('=')[0])
    .filter((name) => name !== 'NODE_ENV');
  return runs('node apps/cloud/dist/server.js', {
    code: 78,
    env: { NODE_ENV: 'production' },
    output: /"problems":\[/,
    also(output) {
      // The server's log line lists each problem as "VARIABLE: what is wrong".
      const problems = JSON.parse(/"problems":(\[.*?\])/.exec(output)[1]);
      const unique = [...new Set(problems.map((problem) => problem.split(':')[0]))];
      const extra = unique.filter((name) => !documented.includes(name));
      const unneeded = documented.filter((name) => !unique.includes(name));
      if (extra.length || unneeded.length)
        return `the production export line and the server disagree: required but not exported: ${extra.join(', ') || 'none'}; exported but not required: ${unneeded.join(', ') || 'none'}`;
    },
  });
}

/**
 * What `docker build -f infra/Dockerfile.cloud` does, without Docker (there is no engine
 * in CI): the compiled cloud copied out with its production dependencies only,
 * run there. The Dockerfile must still say these very lines.
 */
const IMAGE_STEPS = [
  'pnpm --filter @multiclaw/cloud build',
  'pnpm --filter @multiclaw/cloud deploy --prod --legacy /app',
  'CMD ["node", "dist/server.js"]',
];
const DEPLOYED = 'deployed-cloud';
function deployed() {
  return {
    kind: 'run',
    slow: true,
    describe: `runs \`pnpm --filter @multiclaw/cloud deploy --prod --legacy <dir>\` (as infra/Dockerfile.cloud: ${IMAGE_STEPS.length} steps checked)`,
    async check() {
      const dockerfile = readFileSync(join(ROOT, 'infra/Dockerfile.cloud'), 'utf8');
      // Every workspace package the cloud lists must be in the build stage: its manifest
      // for `pnpm install`, and its source when the build bundles it (all but test-support).
      const manifest = JSON.parse(readFileSync(join(ROOT, 'apps/cloud/package.json'), 'utf8'));
      const workspacePackages = Object.keys({ ...manifest.dependencies, ...manifest.devDependencies })
        .filter((name) => name.startsWith('@multiclaw/'))
        .map((name) => name.slice('@multiclaw/'.length));
      const copies = workspacePackages.flatMap((name) => [
        `COPY packages/${name}/package.json packages/${name}/`,
        ...(name === 'test-support' ? [] : [`COPY packages/${name} packages/${name}`]),
      ]);
      const missing = [...IMAGE_STEPS, ...copies].filter((step) => !dockerfile.includes(step));
      if (missing.length) return `infra/Dockerfile.cloud no longer says: ${missing.join('; ')}`;
      const result = await once('deploy', () =>
        // The real HOME: pnpm finds its store there (a scratch one would copy every package anew).
        shell(`pnpm --filter @multiclaw/cloud deploy --prod --legacy ${join(scratch, DEPLOYED)}`, {
          env: { HOME: process.env.HOME },
          timeoutMs: 900_000,
        }),
      );
      if (result.code !== 0) return `pnpm deploy exited ${result.code}:\n${result.output.slice(-2000)}`;
    },
  };
}
/** A command run inside the deployed copy (the image's /app), after `deployed()`. */
function inDeployed(command, expect) {
  const exercise = runs(command, { ...expect, cwd: join(scratch, DEPLOYED) });
  return {
    ...exercise,
    slow: true,
    describe: `${runs(command, expect).describe} in the deployed copy`,
    async check() {
      return (await deployed().check()) ?? exercise.check();
    },
  };
}

const noDatabase = { code: 78, output: /DATABASE_URL is not set/ };
const ciRunsTheTestLine = tested('.ci/run', "test_line=$(awk '/^## Quick start/");
const builtByPnpmTest = tested('turbo.json', '"dependsOn": ["^build", "build"]');
const cloudStarts = [
  tested('apps/cloud/src/server.test.ts', 'zero-configuration start (README line 1)'),
  tested('apps/cloud/src/server.test.ts', 'starts with development keys it generates once'),
];
const gatewayStarts = tested(
  'apps/gateway/src/cli/cli.test.ts',
  'start creates a private config, status sees it',
);
const gatewayCliTest = tested('apps/gateway/src/cli/cli.test.ts', 'has --help on every command');
const benchByHand = byHand(
  'pnpm bench measures for minutes (three embedded PostgreSQL servers, repeated gateway starts); run it by hand when a measured path changes — with BENCH_SECONDS=0.2 BENCH_START_RUNS=1 BENCH_MESSAGES=1000 BENCH_GATEWAY_RUN=compiled it takes about a minute',
);
const migrationNewHelp = runs('pnpm db:migration:new -- --help', {
  output: /usage: pnpm db:migration:new -- <name>/,
});
const migrationNewTest = tested(
  'apps/cloud/src/db/migrations.test.ts',
  'writes the next folder from the schema change',
);
const composeChecked = tested('scripts/check-compose.mjs', "execFileSync('docker-compose'");
// What `pnpm start` runs (scripts/start-all.mjs) after the build: up to its configuration check.
const compiledCloudLoads = runs('node apps/cloud/dist/server.js', {
  code: 78,
  env: { NODE_ENV: 'production' },
  output: /Invalid configuration/,
});
// …and the whole of it: compiled cloud on its embedded PostgreSQL and gateway, in a fresh home.
const productStarts = runs('node scripts/smoke-start.mjs', { output: /all three stopped cleanly/ });
const PRODUCTION_EXPORT =
  'export NODE_ENV=production DATABASE_URL=… MULTICLAW_MASTER_KEYS=… MULTICLAW_TOKEN_SIGNING_KEYS=… PUBLIC_URL=… SECURITY_CONTACT=… SMTP_URL=… MAIL_FROM=…';

// docs/releasing.md, docs/supply-chain.md, docs/backup.md: signed updates and the supply chain.
const updateTest = tested('apps/gateway/src/update/update.test.ts', 'applies a signed update from the feed');
const releaseCliTest = (contains) => tested('packages/release/src/cli.test.ts', contains);
const releaseHelp = runs('pnpm exec multiclaw-release --help', { output: /multiclaw-release keygen/ });
const ON_THE_REGISTRY =
  'asks the npm registry, which reviewers reach and the build machines do not (docs/supply-chain.md)';

/** Every documented command, and how it is exercised. */
const HOW = {
  'multiclaw-gateway update check': [gatewayForm('multiclaw-gateway update check'), updateTest],
  'multiclaw-gateway update apply': [gatewayForm('multiclaw-gateway update apply'), updateTest],
  'multiclaw-gateway --version': [
    runs('node apps/gateway/bin/multiclaw-gateway.mjs --version', { output: /^\d+\.\d+\.\d+/m }),
    updateTest,
  ],
  'systemctl --user restart multiclaw-gateway': [
    byHand(
      'needs a systemd user session with the unit installed; the unit name is SYSTEMD_UNIT in apps/gateway/src/cli/service.ts',
    ),
  ],
  'multiclaw-gateway service install': [gatewayForm('multiclaw-gateway service install'), gatewayCliTest],
  'pnpm exec multiclaw-release gateway-artifact --version 1.3.0 -o dist/multiclaw-gateway-1.3.0.mjs': [
    releaseHelp,
    tested('packages/release/src/gateway-release.test.ts', "'gateway-artifact', '--version'"),
  ],
  'pnpm exec multiclaw-release keygen -p multiclaw-primary.pub -s ~/.minisign/multiclaw-primary.key': [
    releaseHelp,
    releaseCliTest('keygen writes an encrypted key'),
  ],
  'pnpm exec multiclaw-release keygen -p multiclaw-backup.pub -s /media/offline/multiclaw-backup.key': [
    releaseHelp,
    releaseCliTest('keygen writes an encrypted key'),
  ],
  'pnpm exec multiclaw-release manifest -s ~/.minisign/multiclaw-primary.key --product gateway --version 1.3.0 --channel stable --expires 2027-01-31T00:00:00Z --out feed --artifact linux-x64=dist/multiclaw-gateway-1.3.0.mjs --artifact darwin-arm64=dist/multiclaw-gateway-1.3.0.mjs':
    [releaseHelp, releaseCliTest('manifest lays out a release the updater accepts')],
  'pnpm exec multiclaw-release verify -p multiclaw-primary.pub -m feed/gateway/stable/manifest.json': [
    releaseHelp,
    releaseCliTest("release(['verify', '-p', 'enc.pub', '-m', file])"),
  ],
  'minisign -V -p multiclaw-primary.pub -m feed/gateway/stable/manifest.json': [
    tested('.ci/run', 'apt-get install -y -qq minisign'),
    releaseCliTest("minisign(['-V', '-p', 'rel.pub', '-m', join(channel, 'manifest.json')])"),
  ],
  // pnpm reads licences from its store, which a scratch HOME does not have: the test runs it on the real tree.
  'pnpm exec multiclaw-release licenses': [
    releaseHelp,
    tested(
      'packages/release/src/supply-chain/supply-chain.test.ts',
      'every installed dependency carries an allowed licence',
    ),
  ],
  'pnpm exec multiclaw-release sbom -o sbom.cdx.json': [
    releaseHelp,
    tested('packages/release/src/supply-chain/supply-chain.test.ts', 'is valid CycloneDX 1.6 JSON'),
  ],
  'pnpm install --frozen-lockfile': [ciRunsTheTestLine],
  'pnpm why <name>': [runs('pnpm why zod', { output: /zod/ })],
  'pnpm why': [runs('pnpm why zod', { output: /zod/ })],
  'npm view <name> scripts': [byHand(ON_THE_REGISTRY)],
  'npm view <name> dist.attestations': [byHand(ON_THE_REGISTRY)],
  'pg_dump --format=custom --no-owner --no-privileges --file=multiclaw-$(date -u +%Y%m%dT%H%MZ).dump "$DATABASE_URL"':
    [tested('apps/cloud/src/ops/backup-restore.test.ts', "'--format=custom',")],
  'DATABASE_URL=… pnpm --filter @multiclaw/cloud audit:verify > audit-heads-$(date -u +%Y%m%d).txt': [
    runs('pnpm --filter @multiclaw/cloud audit:verify', noDatabase),
    tested('apps/cloud/src/modules/audit/chain.test.ts', "'scripts/audit-verify.ts'"),
  ],
  // README.md, Quick start
  'npx --yes pnpm@10.34.8 install --frozen-lockfile && npx --yes pnpm@10.34.8 start': [
    ...cloudStarts,
    gatewayStarts,
    compiledCloudLoads,
    productStarts,
  ],
  'npx --yes pnpm@10.34.8 install --frozen-lockfile && npx --yes pnpm@10.34.8 test': [ciRunsTheTestLine],
  'sudo apt-get install chromium': [
    tested('.ci/run', 'apt-get install -y -qq chromium'),
    // Without it, `pnpm test` stops first thing, and a browser test file run alone fails, saying how.
    runs('node scripts/check-browser.mjs', {
      env: { MULTICLAW_CHROMIUM: '/nonexistent/chromium' },
      code: 1,
      output: /sudo apt-get install chromium/,
    }),
    runs(
      `pnpm --filter @multiclaw/gateway exec tsx -e "import('@multiclaw/test-support/browser').then((b) => b.chromiumMissing('x'))"`,
      {
        env: { MULTICLAW_CHROMIUM: '/nonexistent/chromium' },
        code: 1,
        output:
          /Error: Chromium is needed for the browser tests and \/nonexistent\/chromium does not exist: sudo apt-get install chromium/,
      },
    ),
  ],
  // README.md, Development
  'pnpm start': [...cloudStarts, gatewayStarts, compiledCloudLoads, productStarts],
  'pnpm build': [builtByPnpmTest],
  'pnpm test': [ciRunsTheTestLine],
  'pnpm typecheck': [tested('package.json', 'turbo run typecheck lint test')],
  'pnpm lint': [tested('package.json', 'turbo run typecheck lint test')],
  // `pnpm lint` is `biome check`, which fails on any formatting `pnpm format` would change.
  'pnpm format': [
    tested('package.json', '"format": "biome format --write ."'),
    tested('package.json', 'turbo run typecheck lint test'),
  ],
  'pnpm bench': [benchByHand],
  'pnpm db:migrate': [
    runs('pnpm db:migrate', noDatabase),
    tested('apps/cloud/src/db/migrate.test.ts', 'applies every migration to an empty database'),
  ],
  'pnpm --filter @multiclaw/cloud audit:verify': [
    runs('pnpm --filter @multiclaw/cloud audit:verify', noDatabase),
    tested('apps/cloud/src/modules/audit/chain.test.ts', "'scripts/audit-verify.ts'"),
  ],
  'pnpm --filter @multiclaw/cloud vault:rotate': [
    runs('pnpm --filter @multiclaw/cloud vault:rotate --help', {
      output: /usage: pnpm --filter @multiclaw\/cloud vault:rotate/,
    }),
    // An option it does not know is refused (node:util parseArgs, strict) before any database work.
    runs('pnpm --filter @multiclaw/cloud vault:rotate --dry-run=yes', {
      code: 64,
      output: /usage: pnpm --filter @multiclaw\/cloud vault:rotate/,
    }),
    tested(
      'apps/cloud/src/modules/vault/rotation.test.ts',
      'rewraps every data key under the newest master key',
    ),
  ],
  'pnpm --filter @multiclaw/cloud docs:permissions': [
    tested('apps/cloud/src/modules/workspaces/workspaces.test.ts', 'docs/permissions.md matches the matrix'),
  ],
  'pnpm db:migration:new -- <name>': [migrationNewHelp, migrationNewTest],
  'pnpm db:migration:new -- add_agent_tags': [
    migrationNewHelp,
    tested('apps/cloud/src/db/migrations.test.ts', 'accepts snake_case names'),
  ],
  'pnpm --filter @multiclaw/cloud start': [...cloudStarts, compiledCloudLoads],
  'pnpm --filter @multiclaw/gateway start': [gatewayStarts],
  'pnpm --filter @multiclaw/gateway cli -- --help': [
    runs('pnpm --filter @multiclaw/gateway cli -- --help', {
      output: /^Usage: multiclaw-gateway \[options\] \[command\]/m,
    }),
    gatewayCliTest,
  ],
  'node apps/cloud/dist/server.js': [requiresExactly(PRODUCTION_EXPORT), ...cloudStarts],
  'pnpm --filter @multiclaw/cloud generate': [
    tested('apps/cloud/package.json', '"build": "pnpm run generate'),
    builtByPnpmTest,
  ],
  'POSTGRES_PASSWORD=dev docker compose up -d postgres': [composeChecked],
  'DATABASE_URL=postgresql://multiclaw:dev@127.0.0.1:5432/multiclaw pnpm test': [
    tested('apps/cloud/test/global-setup.ts', 'process.env.TEST_DATABASE_URL || process.env.DATABASE_URL'),
    tested('docker-compose.yml', 'POSTGRES_USER: multiclaw'),
    tested('docker-compose.yml', 'POSTGRES_PORT:-5432}:5432'),
  ],
  'docker-compose config': [composeChecked],
  // docs/gateway.md
  'pnpm --filter @multiclaw/gateway cli -- <command>': [
    runs('pnpm --filter @multiclaw/gateway cli -- --help', {
      output: /^Usage: multiclaw-gateway \[options\] \[command\]/m,
    }),
  ],
  'multiclaw-gateway start [--strict] [--port N]': [
    gatewayForm('multiclaw-gateway start [--strict] [--port N]'),
    gatewayStarts,
  ],
  'multiclaw-gateway status [--json]': [
    gatewayForm('multiclaw-gateway status [--json]'),
    tested('apps/gateway/src/cli/status-doctor.test.ts', "'status'"),
  ],
  'multiclaw-gateway token rotate [--show]': [
    gatewayForm('multiclaw-gateway token rotate [--show]'),
    gatewayCliTest,
  ],
  'multiclaw-gateway doctor [--json] [--offline]': [
    gatewayForm('multiclaw-gateway doctor [--json] [--offline]'),
    tested('apps/gateway/src/cli/status-doctor.test.ts', "'doctor'"),
  ],
  'multiclaw-gateway service install [--platform linux|darwin] [--start]': [
    gatewayForm('multiclaw-gateway service install [--platform linux|darwin] [--start]'),
    gatewayCliTest,
  ],
  'multiclaw-gateway service uninstall [--platform …] [--stop]': [
    gatewayForm('multiclaw-gateway service uninstall [--platform …] [--stop]'),
    gatewayCliTest,
  ],
  'multiclaw-gateway token rotate': [gatewayForm('multiclaw-gateway token rotate'), gatewayCliTest],
  'multiclaw-gateway update check [--json]': [
    gatewayForm('multiclaw-gateway update check [--json]'),
    tested('apps/gateway/src/update/update.test.ts', 'applies a signed update from the feed'),
  ],
  'multiclaw-gateway update apply [--json]': [
    gatewayForm('multiclaw-gateway update apply [--json]'),
    tested('apps/gateway/src/update/update.test.ts', 'applies a signed update from the feed'),
  ],
  'multiclaw-gateway link --cloud URL --code CODE [--name NAME]': [
    gatewayForm('multiclaw-gateway link --cloud URL --code CODE [--name NAME]'),
    tested('apps/gateway/src/link/link-cloud.test.ts', 'links with a real code, goes online'),
  ],
  'multiclaw-gateway unlink': [
    gatewayForm('multiclaw-gateway unlink'),
    tested('apps/gateway/src/link/link-cloud.test.ts', 'unlink revokes the gateway at the cloud'),
  ],
  'multiclaw-gateway status': [gatewayForm('multiclaw-gateway status'), gatewayStarts],
  'multiclaw-gateway extension pair': [
    gatewayForm('multiclaw-gateway extension pair'),
    tested('apps/gateway/src/extension/extension-token.test.ts', "runCli(['extension', 'pair']"),
  ],
  'multiclaw-gateway extension list [--json]': [
    gatewayForm('multiclaw-gateway extension list [--json]'),
    tested('apps/gateway/src/extension/extension-token.test.ts', "quiet(['extension', 'list', '--json'])"),
  ],
  'multiclaw-gateway extension unpair [id]': [
    gatewayForm('multiclaw-gateway extension unpair [id]'),
    tested('apps/gateway/src/extension/extension-token.test.ts', "quiet(['extension', 'unpair'])"),
  ],
  'multiclaw-gateway recordings list [--json]': [
    gatewayForm('multiclaw-gateway recordings list [--json]'),
    tested('apps/gateway/src/recordings/recording-skills.test.ts', "run(['recordings', 'list', '--json'])"),
  ],
  'multiclaw-gateway recordings show <id> [--json]': [
    gatewayForm('multiclaw-gateway recordings show <id> [--json]'),
    tested(
      'apps/gateway/src/recordings/recording-skills.test.ts',
      "run(['recordings', 'show', id, '--json'])",
    ),
  ],
  'multiclaw-gateway recordings rename <id> <name>': [
    gatewayForm('multiclaw-gateway recordings rename <id> <name>'),
    tested(
      'apps/gateway/src/recordings/recording-skills.test.ts',
      "run(['recordings', 'rename', id, 'Renamed'])",
    ),
  ],
  'multiclaw-gateway recordings delete <id>': [
    gatewayForm('multiclaw-gateway recordings delete <id>'),
    tested('apps/gateway/src/recordings/recording-skills.test.ts', "run(['recordings', 'delete', id])"),
  ],
  'multiclaw-gateway recordings export <id> [--out FILE]': [
    gatewayForm('multiclaw-gateway recordings export <id> [--out FILE]'),
    tested('apps/gateway/src/recordings/recording-skills.test.ts', "run(['recordings', 'export', id])"),
  ],
  'multiclaw-gateway recordings attach <id> --agent AGENT': [
    gatewayForm('multiclaw-gateway recordings attach <id> --agent AGENT'),
    tested(
      'apps/gateway/src/recordings/recording-skills.test.ts',
      "'multiclaw.recordings.attach', { id, agentId: 'main' }",
    ),
  ],
  'multiclaw-gateway recordings detach <id> --agent AGENT': [
    gatewayForm('multiclaw-gateway recordings detach <id> --agent AGENT'),
    tested(
      'apps/gateway/src/recordings/recording-skills.test.ts',
      "'multiclaw.recordings.detach', { id, agentId: 'main' }",
    ),
  ],
  // OpenClaw's own CLI against this gateway.
  'openclaw gateway call': [
    tested('apps/gateway/src/openclaw-interop/openclaw-cli.test.ts', "'gateway',\n    'call',"),
  ],
  'openclaw health': [tested('apps/gateway/src/openclaw-interop/openclaw-cli.test.ts', "cli(['health']")],
  'openclaw agent': [tested('apps/gateway/src/openclaw-interop/openclaw-cli.test.ts', "cli(['agent'")],
  'openclaw acp': [
    tested('apps/gateway/src/openclaw-interop/openclaw-cli.test.ts', '`openclaw acp`, the ACP bridge'),
  ],
  // docs/self-hosting.md
  'openssl rand -base64 32': [runs('openssl rand -base64 32', { output: /^[A-Za-z0-9+/]{43}=\n$/ })],
  'docker compose up -d --build': [composeChecked, deployed()],
  'curl http://127.0.0.1:8080/readyz': [
    tested('apps/cloud/src/modules/health/health.test.ts', "toEqual({ status: 'ready' })"),
    tested('docker-compose.yml', '"127.0.0.1:8080:8080"'),
  ],
  'pnpm --filter @multiclaw/cloud build': [builtByPnpmTest, tested('infra/Dockerfile.cloud', IMAGE_STEPS[0])],
  'pnpm --filter @multiclaw/cloud deploy --prod --legacy /app': [deployed()],
  'docker build -f infra/Dockerfile.cloud -t multiclaw-cloud .': [deployed()],
  'node dist/server.js': [
    inDeployed('node dist/server.js', {
      code: 78,
      env: { NODE_ENV: 'production' },
      output: /Invalid configuration/,
    }),
  ],
  'docker compose run --rm migrate': [
    tested('docker-compose.yml', 'command: ["node", "dist/scripts/db-migrate.js"]'),
    inDeployed('node dist/scripts/db-migrate.js', noDatabase),
  ],
  'docker compose run --rm cloud node dist/scripts/audit-verify.js': [
    inDeployed('node dist/scripts/audit-verify.js', noDatabase),
  ],
  'docker compose run --rm cloud node dist/scripts/vault-rotate.js': [
    inDeployed('node dist/scripts/vault-rotate.js --help', {
      output: /usage: pnpm --filter @multiclaw\/cloud vault:rotate/,
    }),
  ],
  'docker compose run --rm cloud node dist/scripts/vault-reencrypt.js --workspace <id>': [
    inDeployed('node dist/scripts/vault-reencrypt.js --help', { output: /vault:reencrypt --workspace <id>/ }),
    inDeployed('node dist/scripts/vault-reencrypt.js --workspace not-a-uuid', {
      code: 64,
      output: /vault:reencrypt --workspace <id>/,
    }),
    tested('apps/cloud/src/modules/vault/rotation.test.ts', 're-encrypts every secret and secret version'),
  ],
  'npx --yes pnpm@10.34.8 install --frozen-lockfile': [ciRunsTheTestLine],
  'npx --yes pnpm@10.34.8 --filter @multiclaw/cloud build': [builtByPnpmTest],
  [PRODUCTION_EXPORT]: [requiresExactly(PRODUCTION_EXPORT)],
  'node apps/cloud/dist/scripts/db-migrate.js': [
    runs('node apps/cloud/dist/scripts/db-migrate.js', noDatabase),
    tested('apps/cloud/src/db/migrate.test.ts', 'applies every migration to an empty database'),
  ],
  'npx --yes pnpm@10.34.8 --filter @multiclaw/cloud deploy --prod --legacy <dir>': [deployed()],
  // docs/database.md
  'prisma generate': [tested('apps/cloud/package.json', 'prisma generate'), builtByPnpmTest],
  'prisma migrate deploy': [
    tested('apps/cloud/src/db/migrate.test.ts', 'so `prisma migrate deploy` agrees with it'),
  ],
  'pnpm --filter @multiclaw/cloud exec prisma migrate resolve --rolled-back <name>': [
    tested('apps/cloud/src/db/migrate.ts', 'prisma migrate resolve --rolled-back <name>'),
    byHand(
      "Prisma's own CLI: it downloads Prisma's native schema engine (binaries.prisma.sh) even for --help, so it cannot run offline",
    ),
  ],
  // bench/README.md
  'multiclaw-gateway start': [
    gatewayForm('multiclaw-gateway start'),
    tested('bench/gateway/main.ts', "'start'"),
  ],
};

// ------------------------------------------------------------ static rules

const manifest = (dir) => JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8'));
const rootManifest = manifest('.');
const packages = new Map(
  ['apps/cloud', 'apps/gateway', 'bench', 'packages/protocol', 'packages/test-support']
    .filter((dir) => existsSync(join(ROOT, dir, 'package.json')))
    .map((dir) => [manifest(dir).name, manifest(dir)]),
);
const PNPM_BUILTINS = new Set(['install', 'i', 'add', 'exec', 'deploy', 'dlx', 'run', 'why', 'list']);

/** `pnpm [--filter P] x`: x must be a script of P (or of the root), or one of pnpm's own commands; pnpm@ must be the pinned one. */
function pnpmProblems(command) {
  const problems = [];
  const pinned = rootManifest.packageManager;
  for (const version of command.match(/pnpm@\S+/g) ?? []) {
    if (version !== pinned) problems.push(`runs ${version}, but package.json pins ${pinned}`);
  }
  for (const part of command.split(/&&|\|\||;/)) {
    const words = part
      .trim()
      .replace(/^(\S+=\S*\s+)*/, '')
      .split(/\s+/);
    let i =
      words[0] === 'pnpm'
        ? 1
        : words[0] === 'npx' && words[1] === '--yes' && /^pnpm@/.test(words[2])
          ? 3
          : -1;
    if (i < 0) continue;
    let target = rootManifest;
    if (words[i] === '--filter') {
      target = packages.get(words[i + 1]);
      if (!target) {
        problems.push(`no workspace package is named ${words[i + 1]}`);
        continue;
      }
      i += 2;
    }
    const script = words[i];
    if (script && !PNPM_BUILTINS.has(script) && !script.startsWith('-') && !target.scripts?.[script])
      problems.push(`${target.name ?? 'the root package'} has no script "${script}"`);
  }
  return problems;
}

// -------------------------------------------------------------------- main

const found = DOCS.filter((doc) => existsSync(join(ROOT, doc))).flatMap((doc) =>
  extractCommands(readFileSync(join(ROOT, doc), 'utf8'), { tables: TABLES[doc] }).map((c) => ({ ...c, doc })),
);
const problems = [];
for (const { doc, line, command } of found) {
  const where = `${doc}:${line}`;
  if (!HOW[command]?.length)
    problems.push(
      `${where}: \`${command}\` is documented, but scripts/check-doc-commands.mjs does not know how it is exercised: add it to HOW (run it there, or name the test that runs it)`,
    );
  for (const problem of pnpmProblems(command)) problems.push(`${where}: \`${command}\`: ${problem}`);
}
const documented = new Set(found.map((c) => c.command));
for (const command of gatewayCommands()) {
  if (
    ![...documented].some(
      (c) => c === `multiclaw-gateway ${command}` || c.startsWith(`multiclaw-gateway ${command} `),
    )
  )
    problems.push(
      `docs/gateway.md: \`multiclaw-gateway ${command}\` exists but its Commands table has no row for it`,
    );
}

for (const command of Object.keys(HOW)) {
  if (!documented.has(command))
    problems.push(`HOW lists \`${command}\`, which no document mentions any more: remove it`);
}

// A command nobody exercises, or an entry for none, is reported before anything runs.
if (problems.length > 0) fail();

// Two at a time, the slow copy of the deployed cloud first so that the rest runs beside
// it: the machine this runs on may be small and busy with the tests.
const work = Object.entries(HOW)
  .filter(([command]) => documented.has(command))
  .flatMap(([command, exercises]) => exercises.map((exercise) => ({ command, exercise })))
  .sort((a, b) => Number(Boolean(b.exercise.slow)) - Number(Boolean(a.exercise.slow)));
let next = 0;
const started = Date.now();
async function worker() {
  while (next < work.length) {
    const { command, exercise } = work[next++];
    const problem = await exercise.check().catch((error) => `the check itself failed: ${error.stack}`);
    if (problem) problems.push(`\`${command}\` (${exercise.kind}: ${exercise.describe}): ${problem}`);
  }
}
await Promise.all([worker(), worker()]);

if (problems.length > 0) fail();

/** The gateway CLI's top-level commands, read from its own --help. */
function gatewayCommands() {
  const help = execFileSync(
    process.execPath,
    [join(ROOT, 'apps/gateway/bin/multiclaw-gateway.mjs'), '--help'],
    {
      encoding: 'utf8',
    },
  );
  const section = help.slice(help.indexOf('Commands:'), help.indexOf('\n\n', help.indexOf('Commands:')));
  return [...section.matchAll(/^ {2}([a-z][a-z-]*)/gm)]
    .map((match) => match[1])
    .filter((name) => name !== 'help');
}

function fail() {
  console.error(`documented commands: ${problems.length} problem(s)\n- ${problems.join('\n- ')}`);
  process.exit(1);
}
const count = (kind) =>
  new Set(work.filter(({ exercise }) => exercise.kind === kind).map(({ exercise }) => exercise.describe))
    .size;
const hand = [
  ...new Set(work.filter(({ exercise }) => exercise.kind === 'hand').map(({ command }) => command)),
];
console.log(
  `documented commands: ${documented.size} in ${new Set(found.map((c) => c.doc)).size} files, all accounted for: ` +
    `${memo.size} runs here, ${count('test')} named tests and CI steps, by hand only: ${hand.map((c) => `\`${c}\``).join(', ')} ` +
    `(${((Date.now() - started) / 1000).toFixed(1)} s)`,
);
