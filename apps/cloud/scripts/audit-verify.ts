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
import { auditVerifyCli } from '../src/modules/audit/verify-cli.js';

process.exit(await auditVerifyCli(process.argv.slice(2), process.env, console));
