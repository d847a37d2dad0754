import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ensurePrivateDir, writePrivateFileAtomic } from '@multiclaw/runtime/atomic-write';
import type { Logger } from 'pino';
import { z } from 'zod';
import { startEmbeddedPostgres } from './db/embedded-postgres.js';

/**
 * Zero-configuration development: outside production, what the environment
 * leaves out is filled from the state directory — generated keys (0600, with
 * a loud warning) and an embedded PostgreSQL whose data persists there.
 * In production nothing is filled in: config.ts refuses what is missing.
 */

const DevKeys = z.object({
  masterKeys: z.string().min(1),
  signingKeys: z.string().min(1),
});

export function cloudStateDir(env: NodeJS.ProcessEnv): string {
  return env.MULTICLAW_CLOUD_STATE_DIR || join(homedir(), '.multiclaw', 'cloud');
}

async function loadOrCreateDevKeys(stateDir: string, logger: Logger): Promise<z.infer<typeof DevKeys>> {
  const path = join(stateDir, 'dev-keys.json');
  if (existsSync(path)) {
    if ((statSync(path).mode & 0o077) !== 0) {
      throw new Error(`${path} is readable by other users; run: chmod 600 ${path}`);
    }
    return DevKeys.parse(JSON.parse(readFileSync(path, 'utf8')));
  }
  const keys = {
    masterKeys: `1:${randomBytes(32).toString('base64')}`,
    signingKeys: `dev-${randomBytes(4).toString('hex')}:${randomBytes(32).toString('base64')}`,
  };
  await writePrivateFileAtomic(path, `${JSON.stringify(keys, null, 2)}\n`);
  logger.warn(
    { path },
    '!!! DEVELOPMENT KEYS generated and stored in the state directory. They are for this machine only: never use them in production !!!',
  );
  return keys;
}

export type DevelopmentState = {
  env: NodeJS.ProcessEnv;
  /** True when the database is the embedded one started here. */
  embeddedDatabase: boolean;
  stop(): Promise<void>;
};

export async function prepareDevelopmentState(
  source: NodeJS.ProcessEnv,
  logger: Logger,
): Promise<DevelopmentState> {
  const env = { ...source };
  if ((env.NODE_ENV ?? 'development') === 'production') {
    return { env, embeddedDatabase: false, stop: async () => {} };
  }
  const stateDir = cloudStateDir(env);
  await ensurePrivateDir(stateDir);

  const hasMasterKeys = Boolean(env.MULTICLAW_MASTER_KEYS || env.MULTICLAW_MASTER_KEYS_FILE);
  if (!hasMasterKeys || !env.MULTICLAW_TOKEN_SIGNING_KEYS) {
    const keys = await loadOrCreateDevKeys(stateDir, logger);
    if (!hasMasterKeys) env.MULTICLAW_MASTER_KEYS = keys.masterKeys;
    env.MULTICLAW_TOKEN_SIGNING_KEYS ??= keys.signingKeys;
  }

  if (env.DATABASE_URL) return { env, embeddedDatabase: false, stop: async () => {} };

  const dataDir = join(stateDir, 'postgres');
  logger.info({ dataDir }, 'DATABASE_URL is not set: starting the embedded PostgreSQL');
  const postgres = await startEmbeddedPostgres({ dataDir, log: (line) => logger.debug({ postgres: line }) });
  env.DATABASE_URL = postgres.url;
  return { env, embeddedDatabase: true, stop: () => postgres.stop() };
}
