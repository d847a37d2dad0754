import type { Database, Transaction } from '../../db/client.js';
import { type SealedMessage, sealedSelect, type VaultCrypto } from './contract.js';
import { createVaultCrypto, type VaultCryptoDeps } from './crypto.js';
import { toBytes } from './envelope.js';
import { createKeyring, type MasterKeys, newestMasterKey, unwrapDataKey, wrapDataKey } from './keyring.js';

/**
 * Key rotation (DESIGN.md §5, docs/security-model.md "Vault: keys at rest").
 *
 * - `rewrapAll`: every data key not wrapped by the newest master key is
 *   unwrapped with its own master key and wrapped again under the newest; no
 *   secret value is decrypted. One small transaction per key, so an
 *   interrupted run is finished by running it again.
 * - `reencryptWorkspace`: a new data key version for one workspace, then every
 *   secret, secret version and transcript message under an older data key is
 *   decrypted and sealed again, in batches (one transaction each); running it
 *   again after an interruption finishes the job.
 */

export type RewrapProgress = {
  /** Keys handled so far (rewrapped or found already done), out of `total`. */
  done: number;
  total: number;
  workspaceId: string;
  dataKeyVersion: number;
  fromMasterKeyVersion: number;
  toMasterKeyVersion: number;
};

export type RewrapResult = { total: number; rewrapped: number; masterKeyVersion: number };

export async function rewrapAll(
  db: Database,
  masterKeys: MasterKeys,
  options: { onProgress?: (progress: RewrapProgress) => void | Promise<void> } = {},
): Promise<RewrapResult> {
  const newest = newestMasterKey(masterKeys);
  const pending = await db.workspaceDataKey.findMany({
    where: { masterKeyVersion: { not: newest.version } },
    select: { workspaceId: true, version: true },
    orderBy: [{ workspaceId: 'asc' }, { version: 'asc' }],
  });
  let done = 0;
  let rewrapped = 0;
  for (const { workspaceId, version } of pending) {
    const from = await db.$transaction(async (tx) => {
      // Locked and re-read: a concurrent run or a seal may have changed it.
      const [row] = await tx.$queryRaw<
        { wrapped_key: Uint8Array; nonce: Uint8Array; master_key_version: number }[]
      >`SELECT wrapped_key, nonce, master_key_version FROM workspace_data_keys
         WHERE workspace_id = ${workspaceId}::uuid AND version = ${version} FOR UPDATE`;
      if (!row || row.master_key_version === newest.version) return undefined;
      const dataKey = unwrapDataKey(masterKeys, {
        workspaceId,
        version,
        wrappedKey: row.wrapped_key,
        nonce: row.nonce,
        masterKeyVersion: row.master_key_version,
      });
      const wrapped = wrapDataKey(newest, workspaceId, version, dataKey);
      dataKey.fill(0);
      await tx.workspaceDataKey.update({
        where: { workspaceId_version: { workspaceId, version } },
        data: {
          wrappedKey: toBytes(wrapped.wrappedKey),
          nonce: toBytes(wrapped.nonce),
          masterKeyVersion: newest.version,
        },
      });
      return row.master_key_version;
    });
    done++;
    if (from !== undefined) rewrapped++;
    await options.onProgress?.({
      done,
      total: pending.length,
      workspaceId,
      dataKeyVersion: version,
      fromMasterKeyVersion: from ?? newest.version,
      toMasterKeyVersion: newest.version,
    });
  }
  return { total: pending.length, rewrapped, masterKeyVersion: newest.version };
}

/** How many data keys each master key version wraps: a version with none can be removed from config. */
export async function dataKeysByMasterKey(
  db: Database,
): Promise<Array<{ masterKeyVersion: number; dataKeys: number }>> {
  const groups = await db.workspaceDataKey.groupBy({
    by: ['masterKeyVersion'],
    _count: { _all: true },
    orderBy: { masterKeyVersion: 'desc' },
  });
  return groups.map((g) => ({ masterKeyVersion: g.masterKeyVersion, dataKeys: g._count._all }));
}

export type ReencryptProgress = {
  table: 'secrets' | 'secret_versions' | 'messages';
  /** Rows re-encrypted so far in this table by this run. */
  done: number;
  /** Rows under an older data key when the table was started. */
  total: number;
};

export type ReencryptResult = {
  dataKeyVersion: number;
  secrets: number;
  secretVersions: number;
  messages: number;
};

export type ReencryptOptions = {
  batchSize?: number;
  onProgress?: (progress: ReencryptProgress) => void | Promise<void>;
  /**
   * Continue under the workspace's newest data key instead of creating another
   * (after an interrupted run). Without it every run starts a new version,
   * which is also correct, only one version more.
   */
  resume?: boolean;
  usageLimit?: number;
};

export async function reencryptWorkspace(
  db: Database,
  deps: VaultCryptoDeps,
  workspaceId: string,
  options: ReencryptOptions = {},
): Promise<ReencryptResult> {
  const batchSize = options.batchSize ?? 100;
  const keyring = createKeyring({ ...deps, usageLimit: options.usageLimit });
  const vault = createVaultCrypto(deps, { usageLimit: options.usageLimit });

  let target: number;
  const newest = await db.workspaceDataKey.findFirst({
    where: { workspaceId },
    orderBy: { version: 'desc' },
    select: { version: true },
  });
  if (options.resume && newest) {
    target = newest.version;
  } else {
    const created = await keyring.createNextVersion(db, workspaceId, 0);
    created.key.fill(0);
    target = created.version;
  }

  // Seals may roll over to versions above `target`: those rows count as done.
  const secretsTotal = await db.secret.count({ where: { workspaceId, dataKeyVersion: { lt: target } } });
  let secrets = 0;
  for (;;) {
    const count = await db.$transaction(async (tx) => {
      const ids = await tx.$queryRaw<{ id: string }[]>`
        SELECT id FROM secrets WHERE workspace_id = ${workspaceId}::uuid AND data_key_version < ${target}
         ORDER BY id LIMIT ${batchSize} FOR UPDATE`;
      if (ids.length === 0) return 0;
      const rows = await tx.secret.findMany({
        where: { id: { in: ids.map((r) => r.id) } },
        select: { id: true, ...sealedSelect, updatedAt: true },
      });
      for (const row of rows) {
        const place = { workspaceId, secretId: row.id };
        const sealed = await vault.seal(tx, place, await vault.open(tx, place, row));
        // Not a value change: updated_at stays as it was.
        await tx.secret.update({ where: { id: row.id }, data: { ...sealed, updatedAt: row.updatedAt } });
      }
      return rows.length;
    });
    if (count === 0) break;
    secrets += count;
    await options.onProgress?.({ table: 'secrets', done: secrets, total: secretsTotal });
  }

  const versionsTotal = await db.secretVersion.count({
    where: { workspaceId, dataKeyVersion: { lt: target } },
  });
  let secretVersions = 0;
  for (;;) {
    const count = await db.$transaction(async (tx) => {
      const keys = await tx.$queryRaw<{ secret_id: string; version: number }[]>`
        SELECT secret_id, version FROM secret_versions
         WHERE workspace_id = ${workspaceId}::uuid AND data_key_version < ${target}
         ORDER BY secret_id, version LIMIT ${batchSize} FOR UPDATE`;
      for (const key of keys) {
        const where = { secretId_version: { secretId: key.secret_id, version: Number(key.version) } };
        const row = await tx.secretVersion.findUniqueOrThrow({
          where,
          select: sealedSelect,
        });
        const place = { workspaceId, secretId: key.secret_id };
        const sealed = await vault.seal(tx, place, await vault.open(tx, place, row));
        await tx.secretVersion.update({ where, data: sealed });
      }
      return keys.length;
    });
    if (count === 0) break;
    secretVersions += count;
    await options.onProgress?.({ table: 'secret_versions', done: secretVersions, total: versionsTotal });
  }

  const messagesTotal = await db.message.count({
    where: { conversation: { workspaceId }, dataKeyVersion: { lt: target } },
  });
  let messages = 0;
  for (;;) {
    const count = await db.$transaction((tx) => reencryptMessages(tx, vault, workspaceId, target, batchSize));
    if (count === 0) break;
    messages += count;
    await options.onProgress?.({ table: 'messages', done: messages, total: messagesTotal });
  }

  return { dataKeyVersion: target, secrets, secretVersions, messages };
}

type RawMessage = {
  id: string;
  conversation_id: string;
  ciphertext: Uint8Array<ArrayBuffer>;
  nonce: Uint8Array<ArrayBuffer>;
  data_key_version: number;
};

/** One batch of a workspace's messages under a data key version below `target`, sealed again; returns how many. */
async function reencryptMessages(
  tx: Transaction,
  vault: VaultCrypto,
  workspaceId: string,
  target: number,
  batchSize: number,
): Promise<number> {
  const rows = await tx.$queryRaw<RawMessage[]>`
    SELECT m.id::text, m.conversation_id::text, m.ciphertext, m.nonce, m.data_key_version
      FROM messages m JOIN conversations c ON c.id = m.conversation_id
     WHERE c.workspace_id = ${workspaceId}::uuid AND m.data_key_version < ${target}
     ORDER BY m.id LIMIT ${batchSize} FOR UPDATE OF m`;
  if (rows.length === 0) return 0;
  const contents = await vault.openMessages(
    tx,
    workspaceId,
    rows.map((row) => ({
      id: row.id,
      conversationId: row.conversation_id,
      ciphertext: row.ciphertext,
      nonce: row.nonce,
      dataKeyVersion: Number(row.data_key_version),
    })),
  );
  const sealer = await vault.messageSealer(tx, workspaceId, rows.length);
  let sealed: SealedMessage[];
  try {
    sealed = rows.map((row, index) =>
      sealer.seal(
        { workspaceId, conversationId: row.conversation_id, messageId: row.id },
        contents[index] ?? '',
      ),
    );
  } finally {
    sealer.release();
  }
  const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
  await tx.$executeRaw`
    UPDATE messages m
       SET ciphertext = decode(u.ciphertext, 'base64'), nonce = decode(u.nonce, 'base64'),
           data_key_version = u.data_key_version
      FROM unnest(${rows.map((row) => row.id)}::uuid[],
                  ${sealed.map((s) => base64(s.ciphertext))}::text[],
                  ${sealed.map((s) => base64(s.nonce))}::text[],
                  ${sealed.map((s) => s.dataKeyVersion)}::int4[])
           AS u(id, ciphertext, nonce, data_key_version)
     WHERE m.id = u.id`;
  return rows.length;
}
