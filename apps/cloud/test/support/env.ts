import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Mail written to the outbox (no SMTP_URL) goes here, never into the developer's home. */
const TEST_STATE_DIR = join(tmpdir(), `multiclaw-cloud-test-${process.pid}`);

/** A valid environment with fresh random keys; tests override what they exercise. */
export function validEnv(overrides: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  return {
    NODE_ENV: 'test',
    DATABASE_URL: 'postgresql://multiclaw@127.0.0.1:5432/multiclaw',
    MULTICLAW_MASTER_KEYS: `1:${randomBytes(32).toString('base64')}`,
    MULTICLAW_TOKEN_SIGNING_KEYS: `k1:${randomBytes(32).toString('base64')}`,
    LOG_LEVEL: 'silent',
    MULTICLAW_CLOUD_STATE_DIR: TEST_STATE_DIR,
    ...overrides,
  };
}
