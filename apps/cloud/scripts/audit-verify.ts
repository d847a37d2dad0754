/**
 * `pnpm --filter @multiclaw/cloud audit:verify [--workspace <id>]`: recomputes
 * every audit hash chain in DATABASE_URL and checks every link.
 * Exit codes: 0 intact, 1 tampering found (workspace and seq named), 64 bad
 * usage, 69 the database could not be read, 78 DATABASE_URL missing.
 *
 * It prints each workspace's head (last seq and hash). Cutting entries off the
 * end of a chain leaves a valid, shorter chain: only a head recorded elsewhere
 * (an "anchor") reveals it, so keep these lines outside the database.
 */
import { createPrismaClient } from '../src/db/client.js';
import { verifyAuditChain } from '../src/modules/audit/verify.js';

const USAGE = `usage: DATABASE_URL=… pnpm --filter @multiclaw/cloud audit:verify [--workspace <id>]

Verifies the tamper-evident audit log: every workspace's hash chain (or only
<id>'s) and every account-level entry's own hash.

Exit codes: 0 intact · 1 tampering found · 64 bad usage · 69 database error · 78 DATABASE_URL missing`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function parseArgs(argv: string[]): { workspace?: string } | 'help' {
  const args = argv.filter((arg) => arg !== '--');
  if (args.includes('--help') || args.includes('-h')) return 'help';
  if (args.length === 0) return {};
  const [flag, value, ...rest] = args;
  let workspace: string | undefined;
  if (flag === '--workspace' && value !== undefined && rest.length === 0) workspace = value;
  else if (flag?.startsWith('--workspace=') && value === undefined)
    workspace = flag.slice('--workspace='.length);
  if (workspace === undefined || !UUID.test(workspace)) {
    console.error(USAGE);
    process.exit(64);
  }
  return { workspace: workspace.toLowerCase() };
}

const parsed = parseArgs(process.argv.slice(2));
if (parsed === 'help') {
  console.log(USAGE);
  process.exit(0);
}
const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) {
  console.error('audit:verify: DATABASE_URL is not set. Set it to the PostgreSQL database to check.');
  process.exit(78);
}

const db = createPrismaClient(databaseUrl);
let code = 0;
try {
  const result = await verifyAuditChain(db, parsed.workspace, {
    onWorkspace: (head) =>
      console.log(
        `workspace ${head.workspaceId}: ${head.checked} entries intact, head seq ${head.seq} ${head.hash}`,
      ),
  });
  if (result.ok) {
    console.log(`audit log intact: ${result.checked} entries checked`);
  } else {
    const where = result.workspaceId
      ? `workspace ${result.workspaceId}`
      : `account-level entry ${result.entryId}`;
    console.error(`audit:verify: TAMPERING: ${result.problem} at ${where}, seq ${result.seq}`);
    code = 1;
  }
} catch (error) {
  console.error(`audit:verify: ${(error as Error).message}`);
  code = 69;
} finally {
  await db.$disconnect();
}
process.exit(code);
