/**
 * `pnpm --filter @multiclaw/cloud vault:rotate`: rewraps every workspace data
 * key under the newest master key in MULTICLAW_MASTER_KEYS, without decrypting
 * any secret value (docs/security-model.md, "Vault: keys at rest").
 * Exit codes (as db:migrate): 0 done, 1 a data key failed its integrity check,
 * 64 bad usage, 69 database error, 78 configuration missing or invalid
 * (including a master key version still in use but not loaded).
 */
import { parseArgs } from 'node:util';
import { ExitCode } from '@multiclaw/runtime/exit-codes';
import { ConfigError, loadConfig } from '../src/config.js';
import { createPrismaClient } from '../src/db/client.js';
import { VaultIntegrityError } from '../src/modules/vault/contract.js';
import { dataKeysByMasterKey, rewrapAll } from '../src/modules/vault/rotation.js';

const USAGE = `usage: pnpm --filter @multiclaw/cloud vault:rotate [--dry-run]

Rewraps every workspace data key under the newest master key in
MULTICLAW_MASTER_KEYS (the highest version). Load the new key next to the old
ones first, e.g. MULTICLAW_MASTER_KEYS="2:<new base64>,1:<old base64>".
Secret values are never decrypted. Safe to interrupt and run again.
Afterwards, a master key version that wraps no data key can be removed.

  --dry-run   only report how many data keys each master key version wraps

Exit codes: 0 done · 1 integrity failure · 64 bad usage · 69 database error · 78 configuration`;

function parseOptions() {
  try {
    return parseArgs({
      // pnpm may pass the `--` separator through.
      args: process.argv.slice(2).filter((arg) => arg !== '--'),
      options: {
        'dry-run': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch {
    console.error(USAGE);
    return process.exit(ExitCode.USAGE);
  }
}

const options = parseOptions();
if (options.help) {
  console.log(USAGE);
  process.exit(ExitCode.OK);
}
const dryRun = options['dry-run'];

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig(process.env);
} catch (error) {
  console.error(`vault:rotate: ${error instanceof ConfigError ? error.message : (error as Error).message}`);
  process.exit(ExitCode.CONFIG);
}
const loaded = new Set(config.masterKeys.map((k) => k.version));
const newest = Math.max(...loaded);

function report(usage: Array<{ masterKeyVersion: number; dataKeys: number }>) {
  if (usage.length === 0) console.log('no data keys yet');
  for (const { masterKeyVersion, dataKeys } of usage) {
    const state = loaded.has(masterKeyVersion) ? '' : ' (NOT LOADED)';
    console.log(`master key v${masterKeyVersion}${state}: wraps ${dataKeys} data key(s)`);
  }
}

const db = createPrismaClient(config.databaseUrl);
let code: number = ExitCode.OK;
try {
  const before = await dataKeysByMasterKey(db);
  report(before);
  const missing = before.filter((u) => !loaded.has(u.masterKeyVersion)).map((u) => `v${u.masterKeyVersion}`);
  if (missing.length > 0) {
    console.error(
      `vault:rotate: data keys are wrapped by master key ${missing.join(', ')}, which MULTICLAW_MASTER_KEYS does not load; ` +
        'add it (them) back next to the new key and run again',
    );
    code = ExitCode.CONFIG;
  } else if (!dryRun) {
    console.log(`rewrapping under master key v${newest}`);
    const result = await rewrapAll(db, config.masterKeys, {
      onProgress: (p) =>
        console.log(
          `[${p.done}/${p.total}] workspace ${p.workspaceId} data key v${p.dataKeyVersion}: ` +
            (p.fromMasterKeyVersion === p.toMasterKeyVersion
              ? 'already done'
              : `master key v${p.fromMasterKeyVersion} -> v${p.toMasterKeyVersion}`),
        ),
    });
    console.log(`rewrapped ${result.rewrapped} of ${result.total} data key(s)`);
    const after = await dataKeysByMasterKey(db);
    report(after);
    const unused = [...loaded].filter((v) => v !== newest && !after.some((u) => u.masterKeyVersion === v));
    if (unused.length > 0) {
      console.log(
        `master key ${unused.map((v) => `v${v}`).join(', ')} no longer wrap(s) any data key: ` +
          'remove from MULTICLAW_MASTER_KEYS once no backup taken before this rotation needs restoring',
      );
    }
  }
} catch (error) {
  if (error instanceof VaultIntegrityError) {
    console.error(`vault:rotate: ${error.message}`);
    code = 1;
  } else {
    console.error(`vault:rotate: ${(error as Error).message}`);
    code = ExitCode.UNAVAILABLE;
  }
} finally {
  await db.$disconnect();
}
process.exit(code);
