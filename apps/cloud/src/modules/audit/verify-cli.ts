import { parseArgs } from 'node:util';
import { Id } from '@multiclaw/protocol';
import { ExitCode } from '@multiclaw/runtime/exit-codes';
import { createPrismaClient } from '../../db/client.js';
import { verifyAuditChain } from './verify.js';

export const AUDIT_VERIFY_USAGE = `usage: DATABASE_URL=… pnpm --filter @multiclaw/cloud audit:verify [--workspace <id>]

Verifies the tamper-evident audit log: every workspace's hash chain (or only
<id>'s) and every account-level entry's own hash.

Exit codes: 0 intact · 1 tampering found · 64 bad usage · 69 database error · 78 DATABASE_URL missing`;

type Output = { log(line: string): void; error(line: string): void };

/**
 * `audit:verify` as a function of its arguments, environment and output, so
 * every exit path is tested in-process; scripts/audit-verify.ts only wires it
 * to the process. Returns the exit code.
 */
export async function auditVerifyCli(argv: string[], env: NodeJS.ProcessEnv, out: Output): Promise<number> {
  let options: { workspace?: string; help?: boolean };
  try {
    options = parseArgs({
      args: argv.filter((arg) => arg !== '--'),
      options: { workspace: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch {
    out.error(AUDIT_VERIFY_USAGE);
    return ExitCode.USAGE;
  }
  if (options.help) {
    out.log(AUDIT_VERIFY_USAGE);
    return ExitCode.OK;
  }
  const workspace = options.workspace === undefined ? undefined : Id.safeParse(options.workspace);
  if (workspace && !workspace.success) {
    out.error(AUDIT_VERIFY_USAGE);
    return ExitCode.USAGE;
  }
  const databaseUrl = env.DATABASE_URL;
  if (!databaseUrl) {
    out.error('audit:verify: DATABASE_URL is not set. Set it to the PostgreSQL database to check.');
    return ExitCode.CONFIG;
  }

  const db = createPrismaClient(databaseUrl);
  try {
    const result = await verifyAuditChain(db, workspace?.data, {
      onWorkspace: (head) =>
        out.log(
          `workspace ${head.workspaceId}: ${head.checked} entries intact, head seq ${head.seq} ${head.hash}`,
        ),
    });
    if (result.ok) {
      out.log(`audit log intact: ${result.checked} entries checked`);
      return ExitCode.OK;
    }
    const where = result.workspaceId
      ? `workspace ${result.workspaceId}`
      : `account-level entry ${result.entryId}`;
    out.error(`audit:verify: TAMPERING: ${result.problem} at ${where}, seq ${result.seq}`);
    return 1;
  } catch (error) {
    out.error(`audit:verify: ${(error as Error).message}`);
    return ExitCode.UNAVAILABLE;
  } finally {
    await db.$disconnect();
  }
}
