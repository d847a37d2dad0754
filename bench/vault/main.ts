import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import {
  createAuditRecorder,
  createPrismaClient,
  createSecretService,
  createVaultCrypto,
} from '@multiclaw/cloud';
import { benchConfig, benchDatabase } from '../lib/database.js';
import { envNumber, opsPerSecond } from '../lib/measure.js';

/**
 * The vault's two hot paths through the real secrets service on PostgreSQL —
 * encrypt+store (create: seal with the workspace data key, insert, audit) and
 * load+decrypt (reveal: select, unwrap-or-cache, open, audit) — against raw
 * AES-256-GCM encryption and decryption of the same value in the same run.
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

  // Raw baselines: one AES-256-GCM operation on the same value, fresh nonce each time.
  const key = randomBytes(32);
  const aad = Buffer.from('bench');
  const rawEncrypt = await opsPerSecond(
    async () => {
      const cipher = createCipheriv('aes-256-gcm', key, randomBytes(12)).setAAD(aad);
      Buffer.concat([cipher.update(value, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    },
    { seconds, concurrency },
  );
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, nonce).setAAD(aad);
  const sealed = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
  const tag = cipher.getAuthTag();
  const rawDecrypt = await opsPerSecond(
    async () => {
      const decipher = createDecipheriv('aes-256-gcm', key, nonce).setAAD(aad).setAuthTag(tag);
      Buffer.concat([decipher.update(sealed), decipher.final()]).toString('utf8');
    },
    { seconds, concurrency },
  );

  const ids: string[] = [];
  const store = await opsPerSecond(
    async (i) => {
      const created = await secrets.create(workspace.id, { name: `bench_${i}`, value, agentIds: [] }, actor);
      ids.push(created.id);
    },
    { seconds, concurrency },
  );
  const load = await opsPerSecond(
    async (i) => {
      const revealed = await secrets.reveal(workspace.id, ids[i % ids.length] as string, actor);
      if (revealed.value !== value) throw new Error('round trip failed');
    },
    { seconds, concurrency },
  );

  const ratio = (subject: number, baseline: number) => Math.round((subject / baseline) * 100_000) / 100_000;
  console.log(
    JSON.stringify(
      {
        benchmark: 'vault',
        params: { seconds, concurrency, valueBytes: value.length },
        encryptAndStore: {
          baseline: { name: 'raw AES-256-GCM encrypt', ...rawEncrypt },
          subject: { name: 'secrets.create: seal + insert + audit (PostgreSQL)', ...store },
          ratio: ratio(store.opsPerSec, rawEncrypt.opsPerSec),
        },
        loadAndDecrypt: {
          baseline: { name: 'raw AES-256-GCM decrypt', ...rawDecrypt },
          subject: { name: 'secrets.reveal: select + open + audit (PostgreSQL)', ...load },
          ratio: ratio(load.opsPerSec, rawDecrypt.opsPerSec),
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
