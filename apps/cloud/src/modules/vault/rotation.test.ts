import { createSecretKey, type KeyObject, randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useTestDatabaseClient } from '../../../test/support/database-client.js';
import type { Database } from '../../db/client.js';
import { type SealedValue, sealedSelect, type VaultCrypto, VaultIntegrityError } from './contract.js';
import { createVaultCrypto } from './crypto.js';
import type { MasterKeys } from './keyring.js';
import { dataKeysByMasterKey, type RewrapProgress, reencryptWorkspace, rewrapAll } from './rotation.js';

const a: KeyObject = createSecretKey(randomBytes(32));
const b: KeyObject = createSecretKey(randomBytes(32));
const only1: MasterKeys = [{ version: 1, key: a }];
const both: MasterKeys = [
  { version: 2, key: b },
  { version: 1, key: a },
];
const only2: MasterKeys = [{ version: 2, key: b }];
const now = () => new Date();

let db: Database;
useTestDatabaseClient((ready) => {
  db = ready.db;
});

type Stored = { workspaceId: string; secretId: string; value: string; version?: number };

async function seedWorkspace(vault: VaultCrypto, count: number, withHistory = false): Promise<Stored[]> {
  const workspaceId = (await db.workspace.create({ data: { name: `ws-${randomUUID()}` } })).id;
  const stored: Stored[] = [];
  for (let i = 0; i < count; i++) {
    const secretId = randomUUID();
    const place = { workspaceId, secretId };
    const value = `value-${i}-${randomUUID()}`;
    const sealed = await vault.seal(db, place, value);
    await db.secret.create({ data: { id: secretId, workspaceId, name: `s${i}`, ...sealed } });
    stored.push({ workspaceId, secretId, value });
    if (withHistory) {
      const old = `old-${value}`;
      const oldSealed = await vault.seal(db, place, old);
      await db.secretVersion.create({ data: { secretId, version: 1, workspaceId, ...oldSealed } });
      stored.push({ workspaceId, secretId, value: old, version: 1 });
    }
  }
  return stored;
}

async function loadSealed(item: Stored): Promise<SealedValue> {
  if (item.version === undefined) {
    return db.secret.findUniqueOrThrow({
      where: { id: item.secretId },
      select: { id: true, workspaceId: true, ...sealedSelect },
    });
  }
  return db.secretVersion.findUniqueOrThrow({
    where: { secretId_version: { secretId: item.secretId, version: item.version } },
    select: sealedSelect,
  });
}

async function expectAllOpen(vault: VaultCrypto, items: Stored[]) {
  for (const item of items) {
    const place = { workspaceId: item.workspaceId, secretId: item.secretId };
    expect(await vault.open(db, place, await loadSealed(item))).toBe(item.value);
  }
}

async function snapshotSecrets(workspaceIds: string[]) {
  const rows = await db.secret.findMany({
    where: { workspaceId: { in: workspaceIds } },
    orderBy: { id: 'asc' },
    select: {
      id: true,
      ciphertext: true,
      nonce: true,
      dataKeyVersion: true,
      masterKeyVersion: true,
      updatedAt: true,
    },
  });
  return rows.map((r) => ({
    ...r,
    ciphertext: Buffer.from(r.ciphertext).toString('hex'),
    nonce: Buffer.from(r.nonce).toString('hex'),
  }));
}

describe('rewrapAll (master key rotation)', () => {
  it('rewraps every data key under the newest master key, survives an interruption, and lets the old key go', async () => {
    const v1 = createVaultCrypto({ masterKeys: only1, now });
    // Three workspaces; one with two data key versions (usage limit 2).
    const items = [
      ...(await seedWorkspace(v1, 2)),
      ...(await seedWorkspace(v1, 2, true)),
      ...(await seedWorkspace(createVaultCrypto({ masterKeys: only1, now }, { usageLimit: 2 }), 3)),
    ];
    const workspaceIds = [...new Set(items.map((i) => i.workspaceId))];
    const keysBefore = await db.workspaceDataKey.count({ where: { workspaceId: { in: workspaceIds } } });
    expect(keysBefore).toBe(4);
    const secretsBefore = await snapshotSecrets(workspaceIds);

    // Interrupted after the first key: that one is done, the others untouched.
    const seen: RewrapProgress[] = [];
    await expect(
      rewrapAll(db, both, {
        onProgress: (p) => {
          seen.push(p);
          throw new Error('interrupted');
        },
      }),
    ).rejects.toThrow('interrupted');
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ done: 1, total: 4, fromMasterKeyVersion: 1, toMasterKeyVersion: 2 });
    expect(await dataKeysByMasterKey(db)).toEqual([
      { masterKeyVersion: 2, dataKeys: 1 },
      { masterKeyVersion: 1, dataKeys: 3 },
    ]);
    // Mid-rotation, with both keys loaded, everything decrypts.
    await expectAllOpen(createVaultCrypto({ masterKeys: both, now }), items);

    // Run again: it finishes.
    const progress: RewrapProgress[] = [];
    const result = await rewrapAll(db, both, { onProgress: (p) => void progress.push(p) });
    expect(result).toEqual({ total: 3, rewrapped: 3, masterKeyVersion: 2 });
    expect(progress.map((p) => p.done)).toEqual([1, 2, 3]);
    expect(await dataKeysByMasterKey(db)).toEqual([{ masterKeyVersion: 2, dataKeys: 4 }]);

    // No secret value was decrypted or re-encrypted: the secret rows are byte-identical.
    expect(await snapshotSecrets(workspaceIds)).toEqual(secretsBefore);

    // Old master key removed from config: everything still decrypts.
    await expectAllOpen(createVaultCrypto({ masterKeys: only2, now }), items);
    // And the old key alone no longer opens anything (the data keys are no longer under it).
    const first = items[0] as Stored;
    await expect(
      createVaultCrypto({ masterKeys: only1, now }).open(
        db,
        { workspaceId: first.workspaceId, secretId: first.secretId },
        await loadSealed(first),
      ),
    ).rejects.toBeInstanceOf(VaultIntegrityError);

    // New seals use the new master key.
    const fresh = await seedWorkspace(createVaultCrypto({ masterKeys: only2, now }), 1);
    expect((await loadSealed(fresh[0] as Stored)).masterKeyVersion).toBe(2);

    // Nothing left to do.
    expect(await rewrapAll(db, only2)).toEqual({ total: 0, rewrapped: 0, masterKeyVersion: 2 });
  });

  it('refuses to rewrap a data key whose master key is not loaded, changing nothing', async () => {
    const c = createSecretKey(randomBytes(32));
    const items = await seedWorkspace(createVaultCrypto({ masterKeys: [{ version: 5, key: c }], now }), 1);
    await expect(rewrapAll(db, [{ version: 6, key: b }])).rejects.toBeInstanceOf(VaultIntegrityError);
    await expectAllOpen(createVaultCrypto({ masterKeys: [{ version: 5, key: c }], now }), items);
  });
});

describe('reencryptWorkspace (data key rotation)', () => {
  it('re-encrypts every secret and secret version under a new data key, in batches, resumably', async () => {
    const vault = createVaultCrypto({ masterKeys: only2, now });
    const items = await seedWorkspace(vault, 5, true); // 5 secrets + 5 versions
    const bystanders = await seedWorkspace(vault, 2);
    const workspaceId = (items[0] as Stored).workspaceId;
    const bystandersBefore = await snapshotSecrets([(bystanders[0] as Stored).workspaceId]);
    const before = await snapshotSecrets([workspaceId]);
    expect(before.every((r) => r.dataKeyVersion === 1)).toBe(true);

    // Interrupted after the first batch of 2.
    await expect(
      reencryptWorkspace(db, { masterKeys: only2, now }, workspaceId, {
        batchSize: 2,
        onProgress: () => {
          throw new Error('interrupted');
        },
      }),
    ).rejects.toThrow('interrupted');
    const mid = await snapshotSecrets([workspaceId]);
    expect(mid.filter((r) => r.dataKeyVersion === 2)).toHaveLength(2);
    await expectAllOpen(vault, items);

    // Resumed under the same new version.
    const progress: string[] = [];
    const result = await reencryptWorkspace(db, { masterKeys: only2, now }, workspaceId, {
      batchSize: 2,
      resume: true,
      onProgress: (p) => void progress.push(`${p.table} ${p.done}/${p.total}`),
    });
    expect(result).toEqual({ dataKeyVersion: 2, secrets: 3, secretVersions: 5, messages: 0 });
    expect(progress).toEqual([
      'secrets 2/3',
      'secrets 3/3',
      'secret_versions 2/5',
      'secret_versions 4/5',
      'secret_versions 5/5',
    ]);

    const after = await snapshotSecrets([workspaceId]);
    expect(after.every((r) => r.dataKeyVersion === 2)).toBe(true);
    const versions = await db.secretVersion.findMany({ where: { workspaceId } });
    expect(versions.every((r) => r.dataKeyVersion === 2)).toBe(true);
    // New ciphertexts, same values, updated_at untouched.
    for (const [i, row] of after.entries()) {
      expect(row.ciphertext).not.toBe(before[i]?.ciphertext);
      expect(row.updatedAt).toEqual(before[i]?.updatedAt);
    }
    await expectAllOpen(vault, items);
    await expectAllOpen(createVaultCrypto({ masterKeys: only2, now }), items);

    const keys = await db.workspaceDataKey.findMany({ where: { workspaceId }, orderBy: { version: 'asc' } });
    expect(keys.map((k) => [k.version, k.retiredAt !== null])).toEqual([
      [1, true],
      [2, false],
    ]);
    // The old data key is no longer referenced by any row.
    expect(await db.secret.count({ where: { workspaceId, dataKeyVersion: 1 } })).toBe(0);
    // Other workspaces are untouched.
    expect(await snapshotSecrets([(bystanders[0] as Stored).workspaceId])).toEqual(bystandersBefore);

    // A second full run (no resume) moves everything to yet another version.
    const again = await reencryptWorkspace(db, { masterKeys: only2, now }, workspaceId);
    expect(again).toEqual({ dataKeyVersion: 3, secrets: 5, secretVersions: 5, messages: 0 });
    await expectAllOpen(createVaultCrypto({ masterKeys: only2, now }), items);
  });
});
