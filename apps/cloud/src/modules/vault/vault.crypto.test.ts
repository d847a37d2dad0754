import { createSecretKey, type KeyObject, randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/database.js';
import { createPrismaClient, type Database } from '../../db/client.js';
import {
  type SealedValue,
  type SecretPlace,
  sealedSelect,
  type VaultCrypto,
  VaultIntegrityError,
} from './contract.js';
import { createVaultCrypto } from './crypto.js';
import {
  dataKeyAad,
  decrypt,
  encrypt,
  encryptWithNonce,
  FORMAT_VERSION,
  messageAad,
  messageAadEncoder,
  nonceSource,
  secretAad,
} from './envelope.js';
import { createKeyring } from './keyring.js';

const masterA: KeyObject = createSecretKey(randomBytes(32));
const masterKeys = [{ version: 1, key: masterA }];
const now = () => new Date();

let database: TestDatabase;
let db: Database;
let vault: VaultCrypto;
let ws1: string;
let ws2: string;

beforeAll(async () => {
  database = await createTestDatabase();
  db = createPrismaClient(database.url);
  vault = createVaultCrypto({ masterKeys, now });
  ws1 = (await db.workspace.create({ data: { name: 'one' } })).id;
  ws2 = (await db.workspace.create({ data: { name: 'two' } })).id;
});

afterAll(async () => {
  await db?.$disconnect();
  await database?.drop();
});

async function newWorkspace(): Promise<string> {
  return (await db.workspace.create({ data: { name: `ws-${randomUUID()}` } })).id;
}

/** Seals a value for a new secret id and stores the row, as the API does. */
async function storeSecret(workspaceId: string, value: string, crypto = vault) {
  const id = randomUUID();
  const sealed = await crypto.seal(db, { workspaceId, secretId: id }, value);
  await db.secret.create({ data: { id, workspaceId, name: `s-${id}`, ...sealed } });
  return id;
}

async function loadSealed(secretId: string): Promise<SealedValue & { workspaceId: string }> {
  return db.secret.findUniqueOrThrow({
    where: { id: secretId },
    select: { workspaceId: true, ...sealedSelect },
  });
}

function flipBit(bytes: Uint8Array, index: number): Uint8Array<ArrayBuffer> {
  const copy = new Uint8Array(bytes);
  const at = index < 0 ? copy.length + index : index;
  copy[at] = (copy[at] ?? 0) ^ 0x01;
  return copy;
}

async function expectIntegrityError(promise: Promise<unknown>, secret?: string) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(VaultIntegrityError);
  if (secret) expect(String((error as Error).message)).not.toContain(secret);
}

describe('envelope primitives', () => {
  it('encrypts with a fresh 96-bit nonce and appends a 16-byte tag', () => {
    const key = randomBytes(32);
    const aad = Buffer.from('aad');
    const a = encrypt(key, Buffer.from('same value'), aad);
    const b = encrypt(key, Buffer.from('same value'), aad);
    expect(a.nonce).toHaveLength(12);
    expect(a.ciphertext).toHaveLength('same value'.length + 16);
    expect(a.nonce.equals(b.nonce)).toBe(false);
    expect(a.ciphertext.equals(b.ciphertext)).toBe(false);
    expect(decrypt(key, a.ciphertext, a.nonce, aad, 'x').toString()).toBe('same value');
    expect(() => decrypt(key, a.ciphertext, a.nonce, Buffer.from('aae'), 'x')).toThrow(VaultIntegrityError);
  });

  it('encodes AADs unambiguously and distinctly per field', () => {
    const keys = { formatVersion: FORMAT_VERSION, dataKeyVersion: 1, masterKeyVersion: 1 };
    const base = secretAad({ workspaceId: 'ab', secretId: 'c' }, keys);
    expect(base.equals(secretAad({ workspaceId: 'a', secretId: 'bc' }, keys))).toBe(false);
    expect(base.equals(secretAad({ workspaceId: 'ab', secretId: 'c' }, { ...keys, dataKeyVersion: 2 }))).toBe(
      false,
    );
    expect(
      base.equals(secretAad({ workspaceId: 'ab', secretId: 'c' }, { ...keys, masterKeyVersion: 2 })),
    ).toBe(false);
    expect(dataKeyAad('w', 1, 2).equals(dataKeyAad('w', 2, 1))).toBe(false);
    expect(dataKeyAad('w', 1, 1).equals(base)).toBe(false);
  });

  it("a batch's message AADs are messageAad's bytes, and its nonces are fresh and 96-bit", () => {
    const keys = { formatVersion: FORMAT_VERSION, dataKeyVersion: 3 };
    const aadOf = messageAadEncoder('wörkspace', keys);
    for (const [conversationId, messageId] of [
      ['c', 'm'],
      ['', 'ab'],
      ['a', 'b'],
      [randomUUID(), randomUUID()],
      ['ünïcode ✓', '𝄞'],
    ] as const) {
      const expected = messageAad({ workspaceId: 'wörkspace', conversationId, messageId }, keys);
      expect(aadOf(conversationId, messageId).equals(expected)).toBe(true);
    }
    expect(aadOf('ab', 'c').equals(aadOf('a', 'bc'))).toBe(false);
    const next = nonceSource(3000);
    const nonces = Array.from({ length: 3000 }, () => Buffer.from(next()));
    expect(nonces.every((nonce) => nonce.length === 12)).toBe(true);
    expect(new Set(nonces.map((nonce) => nonce.toString('hex'))).size).toBe(3000);
    const key = randomBytes(32);
    const sealed = encryptWithNonce(key, nonces[0] as Buffer, Buffer.from('hello'), aadOf('c', 'm'));
    expect(sealed).toHaveLength(5 + 16);
    expect(decrypt(key, sealed, nonces[0] as Buffer, aadOf('c', 'm'), 'x').toString()).toBe('hello');
    expect(() => decrypt(key, sealed, nonces[0] as Buffer, aadOf('c', 'n'), 'x')).toThrow(
      VaultIntegrityError,
    );
  });
});

describe('seal and open', () => {
  it('round-trips values, including empty and non-ASCII ones, and stores no plaintext', async () => {
    for (const value of ['sk-live-0123456789abcdef', '', 'pässwörd ✓ 密码', 'x'.repeat(10_000)]) {
      const id = await storeSecret(ws1, value);
      const sealed = await loadSealed(id);
      expect(sealed.formatVersion).toBe(FORMAT_VERSION);
      expect(sealed.dataKeyVersion).toBe(1);
      expect(sealed.masterKeyVersion).toBe(1);
      expect(sealed.nonce).toHaveLength(12);
      expect(sealed.ciphertext).toHaveLength(Buffer.byteLength(value) + 16);
      if (value.length > 0) expect(Buffer.from(sealed.ciphertext).includes(Buffer.from(value))).toBe(false);
      expect(await vault.open(db, { workspaceId: ws1, secretId: id }, sealed)).toBe(value);
      // A second instance (no cache) opens it too.
      const fresh = createVaultCrypto({ masterKeys, now });
      expect(await fresh.open(db, { workspaceId: ws1, secretId: id }, sealed)).toBe(value);
    }
  });

  it('stores the data key only wrapped', async () => {
    const keys = await db.workspaceDataKey.findMany({ where: { workspaceId: ws1 } });
    expect(keys).toHaveLength(1);
    const [key] = keys;
    expect(key?.wrappedKey).toHaveLength(32 + 16);
    expect(key?.nonce).toHaveLength(12);
    expect(key?.masterKeyVersion).toBe(1);
    expect(key?.usageCount).toBeGreaterThanOrEqual(4);
  });

  it('works inside an interactive transaction', async () => {
    const id = randomUUID();
    const place = { workspaceId: ws1, secretId: id };
    await db.$transaction(async (tx) => {
      const sealed = await vault.seal(tx, place, 'in a transaction');
      await tx.secret.create({ data: { id, workspaceId: ws1, name: `s-${id}`, ...sealed } });
      expect(await vault.open(tx, place, sealed)).toBe('in a transaction');
    });
    expect(await vault.open(db, place, await loadSealed(id))).toBe('in a transaction');
  });
});

describe('tampering fails with VaultIntegrityError', () => {
  const value = 'tamper-target-value-42';
  let id: string;
  let other: string;
  let place: SecretPlace;
  let sealed: SealedValue;

  beforeAll(async () => {
    id = await storeSecret(ws1, value);
    other = await storeSecret(ws1, 'another-secret-value');
    await storeSecret(ws2, 'gives workspace two a data key version 1');
    place = { workspaceId: ws1, secretId: id };
    sealed = await loadSealed(id);
    // Control: the untampered record opens, so each failure below is the tampering.
    expect(await vault.open(db, place, sealed)).toBe(value);
  });

  it('a flipped bit in the ciphertext', async () => {
    await expectIntegrityError(
      vault.open(db, place, { ...sealed, ciphertext: flipBit(sealed.ciphertext, 0) }),
      value,
    );
  });

  it('a flipped bit in the nonce', async () => {
    await expectIntegrityError(vault.open(db, place, { ...sealed, nonce: flipBit(sealed.nonce, 5) }), value);
  });

  it('a flipped bit in the tag', async () => {
    await expectIntegrityError(
      vault.open(db, place, { ...sealed, ciphertext: flipBit(sealed.ciphertext, -1) }),
      value,
    );
  });

  it('a truncated ciphertext or nonce', async () => {
    await expectIntegrityError(
      vault.open(db, place, { ...sealed, ciphertext: sealed.ciphertext.slice(0, 10) }),
    );
    await expectIntegrityError(vault.open(db, place, { ...sealed, nonce: sealed.nonce.slice(0, 11) }));
  });

  it('ciphertexts swapped between two secrets (rows updated in the database)', async () => {
    const a = await storeSecret(ws1, 'value of a');
    const b = await storeSecret(ws1, 'value of b');
    const sa = await loadSealed(a);
    const sb = await loadSealed(b);
    const pick = ({ ciphertext, nonce }: SealedValue) => ({ ciphertext, nonce });
    await db.secret.update({ where: { id: a }, data: pick(sb) });
    await db.secret.update({ where: { id: b }, data: pick(sa) });
    await expectIntegrityError(vault.open(db, { workspaceId: ws1, secretId: a }, await loadSealed(a)));
    await expectIntegrityError(vault.open(db, { workspaceId: ws1, secretId: b }, await loadSealed(b)));
    // Opening a secret's record at the other's place fails too.
    await expectIntegrityError(vault.open(db, { workspaceId: ws1, secretId: other }, sealed), value);
  });

  it('a record moved to another workspace', async () => {
    await expectIntegrityError(vault.open(db, { workspaceId: ws2, secretId: id }, sealed), value);
  });

  it('the same data key cannot open a record moved to another place in the AAD', async () => {
    // Same workspace, same key: only the AAD differs.
    await expectIntegrityError(vault.open(db, { workspaceId: ws1, secretId: randomUUID() }, sealed), value);
  });

  it('a wrong or unknown data key version', async () => {
    const ws = await newWorkspace();
    const small = createVaultCrypto({ masterKeys, now }, { usageLimit: 1 });
    const first = await storeSecret(ws, 'under data key 1', small);
    await storeSecret(ws, 'under data key 2', small);
    const s1 = await loadSealed(first);
    expect(s1.dataKeyVersion).toBe(1);
    const p1 = { workspaceId: ws, secretId: first };
    expect(await small.open(db, p1, s1)).toBe('under data key 1');
    await expectIntegrityError(small.open(db, p1, { ...s1, dataKeyVersion: 2 }));
    await expectIntegrityError(small.open(db, p1, { ...s1, dataKeyVersion: 99 }));
  });

  it('a wrong master key version recorded on the value', async () => {
    await expectIntegrityError(vault.open(db, place, { ...sealed, masterKeyVersion: 2 }), value);
  });

  it('a wrong format version', async () => {
    await expectIntegrityError(vault.open(db, place, { ...sealed, formatVersion: 2 }), value);
  });

  describe('the wrapped data key', () => {
    async function withDataKey(
      workspaceId: string,
      edit: (row: {
        wrappedKey: Uint8Array<ArrayBuffer>;
        nonce: Uint8Array<ArrayBuffer>;
        masterKeyVersion: number;
      }) => object,
      check: () => Promise<void>,
    ) {
      const where = { workspaceId_version: { workspaceId, version: 1 } };
      const row = await db.workspaceDataKey.findUniqueOrThrow({ where });
      await db.workspaceDataKey.update({ where, data: edit(row) });
      try {
        await check();
      } finally {
        await db.workspaceDataKey.update({
          where,
          data: { wrappedKey: row.wrappedKey, nonce: row.nonce, masterKeyVersion: row.masterKeyVersion },
        });
      }
      expect(await vault.open(db, place, sealed)).toBe(value);
    }

    it('a flipped bit in the wrapped key (even with the key cached)', async () => {
      await withDataKey(
        ws1,
        (row) => ({ wrappedKey: flipBit(row.wrappedKey, 3) }),
        () => expectIntegrityError(vault.open(db, place, sealed), value),
      );
    });

    it('a flipped bit in its tag or nonce', async () => {
      await withDataKey(
        ws1,
        (row) => ({ wrappedKey: flipBit(row.wrappedKey, -1) }),
        () => expectIntegrityError(vault.open(db, place, sealed), value),
      );
      await withDataKey(
        ws1,
        (row) => ({ nonce: flipBit(row.nonce, 0) }),
        () => expectIntegrityError(vault.open(db, place, sealed), value),
      );
    });

    it('a changed master key version on the data key', async () => {
      const both = createVaultCrypto({
        masterKeys: [{ version: 2, key: masterA }, ...masterKeys],
        now,
      });
      // Even with the same key material loaded under version 2, the AAD differs.
      await withDataKey(
        ws1,
        () => ({ masterKeyVersion: 2 }),
        () => expectIntegrityError(both.open(db, place, sealed), value),
      );
    });

    it("another workspace's wrapped key copied in", async () => {
      const theirs = await db.workspaceDataKey.findUniqueOrThrow({
        where: { workspaceId_version: { workspaceId: ws2, version: 1 } },
      });
      await withDataKey(
        ws1,
        () => ({ wrappedKey: theirs.wrappedKey, nonce: theirs.nonce }),
        () => expectIntegrityError(vault.open(db, place, sealed), value),
      );
    });

    it('an unknown master key', async () => {
      const otherMaster = createVaultCrypto({
        masterKeys: [{ version: 1, key: createSecretKey(randomBytes(32)) }],
        now,
      });
      await expectIntegrityError(otherMaster.open(db, place, sealed), value);
      const noSuchVersion = createVaultCrypto({ masterKeys: [{ version: 7, key: masterA }], now });
      await expectIntegrityError(noSuchVersion.open(db, place, sealed), value);
    });
  });
});

describe('usage counter', () => {
  it('rolls to a new data key version at the limit and keeps the old ones decrypting', async () => {
    const ws = await newWorkspace();
    const small = createVaultCrypto({ masterKeys, now }, { usageLimit: 3 });
    const values = Array.from({ length: 7 }, (_, i) => `value-${i}`);
    const ids: string[] = [];
    for (const value of values) ids.push(await storeSecret(ws, value, small));
    const versions = [];
    for (const id of ids) versions.push((await loadSealed(id)).dataKeyVersion);
    expect(versions).toEqual([1, 1, 1, 2, 2, 2, 3]);

    const keys = await db.workspaceDataKey.findMany({
      where: { workspaceId: ws },
      orderBy: { version: 'asc' },
    });
    expect(keys.map((k) => [k.version, k.usageCount, k.retiredAt !== null])).toEqual([
      [1, 3, true],
      [2, 3, true],
      [3, 1, false],
    ]);
    for (const [i, id] of ids.entries()) {
      expect(await small.open(db, { workspaceId: ws, secretId: id }, await loadSealed(id))).toBe(values[i]);
    }
  });

  it('counts every seal atomically under concurrency', async () => {
    const ws = await newWorkspace();
    await Promise.all(Array.from({ length: 25 }, (_, i) => storeSecret(ws, `v${i}`)));
    const [key, ...more] = await db.workspaceDataKey.findMany({ where: { workspaceId: ws } });
    expect(more).toHaveLength(0);
    expect(key?.usageCount).toBe(25);
  });
});

describe('concurrent first seals', () => {
  it('create exactly one version-1 data key (plain client)', async () => {
    const ws = await newWorkspace();
    const fresh = Array.from({ length: 12 }, () => createVaultCrypto({ masterKeys, now }));
    const ids = await Promise.all(fresh.map((crypto, i) => storeSecret(ws, `first-${i}`, crypto)));
    const keys = await db.workspaceDataKey.findMany({ where: { workspaceId: ws } });
    expect(keys.map((k) => [k.version, k.usageCount])).toEqual([[1, 12]]);
    for (const [i, id] of ids.entries()) {
      expect(await vault.open(db, { workspaceId: ws, secretId: id }, await loadSealed(id))).toBe(
        `first-${i}`,
      );
    }
  });

  it('create exactly one version-1 data key (each in its own transaction)', async () => {
    const ws = await newWorkspace();
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        db.$transaction(async (tx) => {
          const id = randomUUID();
          const sealed = await createVaultCrypto({ masterKeys, now }).seal(
            tx,
            { workspaceId: ws, secretId: id },
            `t-${i}`,
          );
          await tx.secret.create({ data: { id, workspaceId: ws, name: `s-${id}`, ...sealed } });
          return { id, version: sealed.dataKeyVersion };
        }),
      ),
    );
    expect(results.every((r) => r.version === 1)).toBe(true);
    const keys = await db.workspaceDataKey.findMany({ where: { workspaceId: ws } });
    expect(keys.map((k) => [k.version, k.usageCount])).toEqual([[1, 8]]);
  });
});

describe('data key cache', () => {
  it('is bounded and re-checks a changed row', async () => {
    const keyring = createKeyring({ masterKeys, now, cacheSize: 1 });
    const a = await keyring.keyFor(db, ws1, 1);
    const b = await keyring.keyFor(db, ws2, 1);
    expect(a.key.equals(b.key)).toBe(false);
    // Evicted entries are zeroed in the cache, not in the copies handed out.
    expect(a.key.equals(Buffer.alloc(32))).toBe(false);
    expect((await keyring.keyFor(db, ws1, 1)).key.equals(a.key)).toBe(true);
  });
});
