import { randomBytes, randomUUID } from 'node:crypto';
import {
  createAuditRecorder,
  createPrismaClient,
  createSecretService,
  createVaultCrypto,
} from '@multiclaw/cloud';
import pg from 'pg';
import { benchConfig, benchDatabase } from '../lib/database.js';
import { compareInterleaved, envNumber } from '../lib/measure.js';

/**
 * The vault's two hot paths through the real secrets service on PostgreSQL —
 * encrypt+store (create: seal with the workspace data key, insert, audit) and
 * load+decrypt (reveal: select, unwrap-or-cache, open, audit) — against a raw
 * node-postgres INSERT and SELECT of the same row, each in its own
 * transaction, at the same concurrency in the same run: the ratio says what
 * the vault adds (sealing, the data key, the audit chain) to storing the row.
 */
const seconds = envNumber('BENCH_SECONDS', 10);
const concurrency = envNumber('BENCH_CONCURRENCY', 2);
const value = randomBytes(96).toString('base64'); // an API-key-sized secret, 128 characters

const database = await benchDatabase();
const config = benchConfig(database.url);
const db = createPrismaClient(database.url);
const now = () => new Date();

try {
  const user = await db.user.create({ data: { email: 'vault-bench@example.com' } });
  const workspace = await db.workspace.create({
    data: { name: 'bench', memberships: { create: { userId: user.id, role: 'owner' } } },
  });
  const secrets = createSecretService({
    db,
    now,
    audit: createAuditRecorder({ db, now }),
    crypto: createVaultCrypto({ masterKeys: config.masterKeys, now }),
  });
  const actor = { userId: user.id, ip: '127.0.0.1' };

  // Raw baselines: the same row as the service writes and reads (a sealed
  // 128-character value: ciphertext, nonce, key versions, names), inserted
  // and selected by node-postgres, each in a transaction of its own, at the
  // same concurrency, into the same table with the same indexes and checks.
  // One secret through the service first, so the workspace has its data key (version 1) to refer to.
  await secrets.create(workspace.id, { name: 'first', value, agentIds: [] }, actor);
  const pool = new pg.Pool({ connectionString: database.url, max: concurrency });
  const ciphertext = randomBytes(Buffer.byteLength(value) + 16);
  const nonce = randomBytes(12);
  const inTransaction = async <T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    } finally {
      client.release();
    }
  };
  const rawIds: string[] = [];
  const ids: string[] = [];
  // Each pair in alternating one-second slices: a shared machine's load weighs on both alike.
  const writes = await compareInterleaved(
    async (i) => {
      const id = randomUUID();
      await inTransaction((client) =>
        client.query(
          `INSERT INTO secrets (id, workspace_id, name, description, ciphertext, nonce, format_version,
             data_key_version, master_key_version, version, created_at, updated_at)
           VALUES ($1, $2, $3, NULL, $4, $5, 1, 1, 1, 1, now(), now())`,
          [id, workspace.id, `raw_${i}`, ciphertext, nonce],
        ),
      );
      rawIds.push(id);
    },
    async (i) => {
      const created = await secrets.create(workspace.id, { name: `bench_${i}`, value, agentIds: [] }, actor);
      ids.push(created.id);
    },
    { seconds, concurrency },
  );
  const reads = await compareInterleaved(
    async (i) => {
      const { rows } = await inTransaction((client) =>
        client.query(
          `SELECT id, name, version, ciphertext, nonce, format_version, data_key_version, master_key_version
             FROM secrets WHERE workspace_id = $1 AND id = $2`,
          [workspace.id, rawIds[i % rawIds.length]],
        ),
      );
      if (rows.length !== 1) throw new Error('raw select found no row');
    },
    async (i) => {
      const revealed = await secrets.reveal(workspace.id, ids[i % ids.length] as string, actor);
      if (revealed.value !== value) throw new Error('round trip failed');
    },
    { seconds, concurrency },
  );
  await pool.end();

  console.log(
    JSON.stringify(
      {
        benchmark: 'vault',
        params: { seconds, concurrency, valueBytes: value.length },
        encryptAndStore: {
          baseline: { name: 'raw pg INSERT of the same row in its own transaction', ...writes.baseline },
          subject: {
            name: 'secrets.create: seal + insert + configVersion + audit, one transaction',
            ...writes.subject,
          },
          ratio: writes.ratio,
        },
        loadAndDecrypt: {
          baseline: { name: 'raw pg SELECT of the same row in its own transaction', ...reads.baseline },
          subject: { name: 'secrets.reveal: select + open + audit', ...reads.subject },
          ratio: reads.ratio,
        },
      },
      null,
      2,
    ),
  );
} finally {
  await db.$disconnect();
  await database.stop();
}
