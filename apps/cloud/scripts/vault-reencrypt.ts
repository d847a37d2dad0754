/**
 * `pnpm --filter @multiclaw/cloud vault:reencrypt --workspace <id>`: gives a
 * workspace a new data key version and re-encrypts every secret value (and
 * kept previous version) and every synced message's content under it, in batches (docs/security-model.md,
 * "Vault: keys at rest").
 * Exit codes (as db:migrate): 0 done, 1 a stored value failed its integrity
 * check, 64 bad usage, 69 database error, 78 configuration missing or invalid.
 */
import { parseArgs } from 'node:util';
import { ExitCode } from '@multiclaw/runtime/exit-codes';
import { ConfigError, loadConfig } from '../src/config.js';
import { createPrismaClient } from '../src/db/client.js';
import { VaultIntegrityError } from '../src/modules/vault/contract.js';
import { reencryptWorkspace } from '../src/modules/vault/rotation.js';

const USAGE = `usage: pnpm --filter @multiclaw/cloud vault:reencrypt --workspace <id> [--resume] [--batch-size <n>]

Creates a new data key version for the workspace (wrapped by the newest master
key) and re-encrypts its secrets, secret versions and synced messages under it, in batches of
<n> (default 100), one transaction per batch.

  --resume          continue an interrupted run under the workspace's newest
                    data key instead of creating another one (running again
                    without it is also correct, it only adds a version)

Exit codes: 0 done · 1 integrity failure · 64 bad usage · 69 database error · 78 configuration`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function usage(): never {
  console.error(USAGE);
  process.exit(ExitCode.USAGE);
}

function parseOptions() {
  try {
    return parseArgs({
      // pnpm may pass the `--` separator through.
      args: process.argv.slice(2).filter((arg) => arg !== '--'),
      options: {
        workspace: { type: 'string' },
        'batch-size': { type: 'string', default: '100' },
        resume: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch {
    return usage();
  }
}

const options = parseOptions();
if (options.help) {
  console.log(USAGE);
  process.exit(ExitCode.OK);
}
const { workspace, resume } = options;
const batchSize = Number(options['batch-size']);
if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) usage();
if (workspace === undefined || !UUID.test(workspace)) usage();
const workspaceId = workspace.toLowerCase();

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig(process.env);
} catch (error) {
  console.error(
    `vault:reencrypt: ${error instanceof ConfigError ? error.message : (error as Error).message}`,
  );
  process.exit(ExitCode.CONFIG);
}

const db = createPrismaClient(config.databaseUrl);
let code: number = ExitCode.OK;
try {
  if (!(await db.workspace.findUnique({ where: { id: workspaceId }, select: { id: true } }))) {
    console.error(`vault:reencrypt: workspace ${workspaceId} does not exist`);
    code = ExitCode.USAGE;
  } else {
    const result = await reencryptWorkspace(
      db,
      { masterKeys: config.masterKeys, now: () => new Date() },
      workspaceId,
      {
        batchSize,
        resume,
        onProgress: (p) => console.log(`${p.table}: ${p.done}/${p.total} re-encrypted`),
      },
    );
    console.log(
      `workspace ${workspaceId}: ${result.secrets} secret(s), ${result.secretVersions} secret version(s) ` +
        `and ${result.messages} message(s) ` +
        `now under data key v${result.dataKeyVersion}`,
    );
  }
} catch (error) {
  console.error(`vault:reencrypt: ${(error as Error).message}`);
  code = error instanceof VaultIntegrityError ? 1 : ExitCode.UNAVAILABLE;
} finally {
  await db.$disconnect();
}
process.exit(code);
