import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyMigrations, loadConfig, startEmbeddedPostgres } from '@multiclaw/cloud';

/**
 * A migrated database for one benchmark run: `BENCH_DATABASE_URL` when set
 * (it must point at an empty database the benchmark may fill), otherwise a
 * throwaway embedded PostgreSQL in a temporary directory.
 */
export async function benchDatabase(): Promise<{ url: string; stop(): Promise<void> }> {
  const given = process.env.BENCH_DATABASE_URL;
  if (given) {
    await applyMigrations({ databaseUrl: given });
    return { url: given, stop: async () => {} };
  }
  const dir = mkdtempSync(join(tmpdir(), 'multiclaw-bench-'));
  const postgres = await startEmbeddedPostgres({ dataDir: join(dir, 'postgres') });
  await applyMigrations({ databaseUrl: postgres.url });
  return {
    url: postgres.url,
    async stop() {
      await postgres.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A cloud config for a benchmark: the given database, fresh throwaway keys, plus `extra` variables. */
export function benchConfig(databaseUrl: string, extra: Record<string, string> = {}) {
  return loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrl,
    MULTICLAW_MASTER_KEYS: `1:${randomBytes(32).toString('base64')}`,
    MULTICLAW_TOKEN_SIGNING_KEYS: `bench:${randomBytes(32).toString('base64')}`,
    ...extra,
  });
}
