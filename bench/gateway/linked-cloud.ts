import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildApp, createLogger, createPrismaClient } from '@multiclaw/cloud';
import { freePort } from '@multiclaw/test-support/ports';
import { benchConfig, benchDatabase } from '../lib/database.js';

/**
 * A cloud in this process (on `benchDatabase()`), with one person and one workspace,
 * that links gateway state directories: what the gateway's start and idle figures are
 * measured with (issue 19: "re-measured with the link enabled").
 */
export interface LinkedCloud {
  url: string;
  /** Enrolls a fresh gateway state directory with `multiclaw-gateway link` (the real command). */
  link(gatewayBin: string, stateDir: string): Promise<void>;
  close(): Promise<void>;
}

export async function startLinkedCloud(): Promise<LinkedCloud> {
  const database = await benchDatabase();
  const dir = mkdtempSync(join(tmpdir(), 'mc-bench-gw-cloud-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const app = await buildApp({
    config: benchConfig(database.url, {
      HOST: '127.0.0.1',
      PORT: String(port),
      PUBLIC_URL: url,
      EVENT_BUS: 'memory',
      MULTICLAW_CLOUD_STATE_DIR: dir,
      AUTH_RATE_LIMIT_MAX: '10000',
      LOG_LEVEL: 'silent',
    }),
    db: createPrismaClient(database.url),
    logger: createLogger({ service: 'multiclaw-cloud', level: 'silent' }),
  });
  await app.listen({ host: '127.0.0.1', port });

  async function call<T>(path: string, token: string | undefined, body: unknown): Promise<T> {
    const response = await fetch(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`POST ${path}: HTTP ${response.status} ${text}`);
    return JSON.parse(text) as T;
  }
  const person = { email: 'gateway-bench@example.com', password: 'gateway bench passphrase 7' };
  await call('/v1/auth/register', undefined, person);
  const { accessToken } = await call<{ accessToken: string }>('/v1/auth/login', undefined, person);
  const { id: wid } = await call<{ id: string }>('/v1/workspaces', accessToken, { name: 'bench' });

  return {
    url,
    async link(gatewayBin, stateDir) {
      const { code } = await call<{ code: string }>(
        `/v1/workspaces/${wid}/gateway-enrollments`,
        accessToken,
        {},
      );
      // Not spawnSync: the cloud answering the enrollment runs in this process.
      await promisify(execFile)(process.execPath, [gatewayBin, 'link', '--cloud', url, '--code', code], {
        env: { ...process.env, OPENCLAW_STATE_DIR: stateDir, HOME: stateDir },
      });
    },
    async close() {
      await app.close();
      await database.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
