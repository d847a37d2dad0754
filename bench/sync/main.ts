import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { buildApp, createLogger, createPrismaClient } from '@multiclaw/cloud';
import { ConfigFile, LocalStore, resolveGatewayPaths, startGateway } from '@multiclaw/gateway';
import { jsonCaller } from '@multiclaw/test-support/json-http';
import { freePort } from '@multiclaw/test-support/ports';
import pg from 'pg';
import { benchConfig, benchDatabase } from '../lib/database.js';
import { envNumber } from '../lib/measure.js';

/**
 * Transcript sync over the real link: `BENCH_SYNC_MESSAGES` (default 100,000)
 * messages in `BENCH_SYNC_CONVERSATIONS` (default 100) conversations are
 * written to a gateway's store while it is not linked (a backlog queued
 * offline); then the gateway is linked to a cloud in this process and
 * started, and the clock runs from the link coming online until PostgreSQL
 * holds every message (the catch-up time; its rate is the ingest rate: store
 * read, link frames, parse, seal with the workspace key, one unnest insert
 * per batch, ack, cursor fsync). Baseline: the same rows (as the cloud stored
 * them: ciphertext, nonce…) inserted raw into a copy of the messages table
 * (same indexes) with one `INSERT … SELECT FROM unnest(…)` per 500 rows,
 * sequentially, on the same database in the same run.
 */
const MESSAGES = envNumber('BENCH_SYNC_MESSAGES', 100_000);
const CONVERSATIONS = envNumber('BENCH_SYNC_CONVERSATIONS', 100);
const BATCH = 500;
const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

const GATEWAY_BIN = (() => {
  const manifestPath = createRequire(import.meta.url).resolve('@multiclaw/gateway/package.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { bin: Record<string, string> };
  return join(dirname(manifestPath), manifest.bin['multiclaw-gateway'] as string);
})();

const database = await benchDatabase();
const dir = mkdtempSync(join(tmpdir(), 'multiclaw-bench-sync-'));
const port = await freePort();
const cloudUrl = `http://127.0.0.1:${port}`;
const config = benchConfig(database.url, {
  HOST: '127.0.0.1',
  PORT: String(port),
  PUBLIC_URL: cloudUrl,
  EVENT_BUS: 'memory',
  MULTICLAW_CLOUD_STATE_DIR: join(dir, 'cloud'),
  AUTH_RATE_LIMIT_MAX: '10000',
  LOG_LEVEL: 'silent',
});
const app = await buildApp({
  config,
  db: createPrismaClient(database.url),
  logger: createLogger({ service: 'multiclaw-cloud', level: 'silent' }),
});
await app.listen({ host: '127.0.0.1', port });
const client = new pg.Client({ connectionString: database.url });
await client.connect();

const call = jsonCaller(cloudUrl);

const count = async (table: string) =>
  Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]?.n);

try {
  // The backlog, written while the gateway is not linked.
  const stateDir = join(dir, 'gateway');
  const paths = resolveGatewayPaths({ OPENCLAW_STATE_DIR: stateDir });
  const gatewayConfig = await ConfigFile.open(paths);
  await gatewayConfig.update((current) => ({
    ...current,
    agents: { list: [{ id: 'main', name: 'Main', model: 'none/none' }] },
    sync: { agents: ['main'] },
  }));
  const store = await LocalStore.open(paths.storeDir, { warn: () => {} });
  const perConversation = Math.ceil(MESSAGES / CONVERSATIONS);
  let written = 0;
  for (let c = 0; c < CONVERSATIONS && written < MESSAGES; c++) {
    const { key } = await store.createSession('main', `conversation ${c}`);
    for (let start = 0; start < perConversation && written < MESSAGES; start += 250) {
      const size = Math.min(250, perConversation - start, MESSAGES - written);
      await store.appendMessages(
        key,
        Array.from({ length: size }, (_, index) => ({
          id: randomUUID(),
          role: (start + index) % 2 ? ('assistant' as const) : ('user' as const),
          ...((start + index) % 2 ? { status: 'complete' as const } : {}),
          // A chat turn of ~200 characters.
          content: `${randomBytes(75).toString('base64')} turn ${start + index} of conversation ${c}. ${'x'.repeat(80)}`,
          createdAt: new Date().toISOString(),
        })),
      );
      written += size;
    }
  }
  await store.close();

  // A person, a workspace, and the link.
  const person = { email: 'sync-bench@example.com', password: 'sync bench passphrase 4' };
  await call('POST', '/v1/auth/register', undefined, person);
  const { accessToken } = await call<{ accessToken: string }>('POST', '/v1/auth/login', undefined, person);
  const { id: wid } = await call<{ id: string }>('POST', '/v1/workspaces', accessToken, { name: 'bench' });
  const { code } = await call<{ code: string }>(
    'POST',
    `/v1/workspaces/${wid}/gateway-enrollments`,
    accessToken,
    {},
  );
  // Not spawnSync: the cloud answering the enrollment runs in this process.
  await promisify(execFile)(process.execPath, [GATEWAY_BIN, 'link', '--cloud', cloudUrl, '--code', code], {
    env: { ...process.env, OPENCLAW_STATE_DIR: stateDir, HOME: stateDir },
  });

  const log = createLogger({ service: 'multiclaw-gateway', level: 'error' });
  let onlineAt = 0;
  const gateway = await startGateway({ paths, log, port: 0 });
  gateway.link.on('online', () => {
    onlineAt ||= performance.now();
  });
  if (gateway.link.status().state === 'online') onlineAt ||= performance.now();
  while ((await count('messages')) < MESSAGES) await new Promise((resolve) => setTimeout(resolve, 20));
  const catchUpMs = performance.now() - onlineAt;
  await gateway.close();

  // The raw baseline: the same rows, one unnest insert per 500, into a copy of the table.
  await client.query('CREATE TABLE bench_messages (LIKE messages INCLUDING ALL)');
  const rows = (
    await client.query(
      'SELECT id, conversation_id, seq, role::text AS role, ciphertext, nonce, data_key_version, status, created_at FROM messages ORDER BY conversation_id, seq',
    )
  ).rows as Array<Record<string, unknown>>;
  const rawStart = performance.now();
  for (let start = 0; start < rows.length; start += BATCH) {
    const slice = rows.slice(start, start + BATCH);
    const column = (name: string) => slice.map((row) => row[name]);
    await client.query(
      `INSERT INTO bench_messages (id, conversation_id, seq, role, ciphertext, nonce, data_key_version, status, created_at, received_at)
       SELECT m.id, m.conversation_id, m.seq, m.role::message_role, m.ciphertext, m.nonce, m.data_key_version, m.status, m.created_at, now()
         FROM unnest($1::uuid[], $2::uuid[], $3::int4[], $4::text[], $5::bytea[], $6::bytea[], $7::int4[], $8::text[], $9::timestamptz[])
           AS m(id, conversation_id, seq, role, ciphertext, nonce, data_key_version, status, created_at)
       ON CONFLICT DO NOTHING`,
      [
        column('id'),
        column('conversation_id'),
        column('seq'),
        column('role'),
        column('ciphertext'),
        column('nonce'),
        column('data_key_version'),
        column('status'),
        column('created_at'),
      ],
    );
  }
  const rawMs = performance.now() - rawStart;
  if ((await count('bench_messages')) !== MESSAGES)
    throw new Error('the raw baseline did not insert every row');

  const syncRate = MESSAGES / (catchUpMs / 1000);
  const rawRate = MESSAGES / (rawMs / 1000);
  console.log(
    JSON.stringify({
      benchmark: 'sync',
      messages: MESSAGES,
      conversations: CONVERSATIONS,
      catchUpSeconds: round(catchUpMs / 1000, 2),
      syncMessagesPerSec: Math.round(syncRate),
      raw: {
        unnestInsertMessagesPerSec: Math.round(rawRate),
        rowsPerStatement: BATCH,
        seconds: round(rawMs / 1000, 2),
      },
      ratio: round(syncRate / rawRate, 3),
      goal: 'ratio >= 0.5',
    }),
  );
} finally {
  await client.end();
  await app.close();
  await database.stop();
  rmSync(dir, { recursive: true, force: true });
}
