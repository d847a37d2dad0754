import { createHash, type KeyObject, randomBytes } from 'node:crypto';
import type { Config } from '../../config.js';
import { type Database, type Sql, sqlOf } from '../../db/client.js';
import { type VaultDb, VaultIntegrityError } from './contract.js';
import { dataKeyAad, decrypt, encrypt, KEY_BYTES } from './envelope.js';

/**
 * Workspace data keys: random 32 bytes, stored only wrapped (AES-256-GCM under
 * a master key, AAD = format, workspace, data key version, master key version).
 * One version per workspace encrypts at a time; each seal counts one use with a
 * single `UPDATE … RETURNING` (a batch of seals counts all its uses in one),
 * and at the limit the next seal creates version+1 and retires the old one
 * (which keeps decrypting).
 */

export type MasterKeys = Config['masterKeys'];

/** usage_count is an int4: its maximum, far below GCM's 2^32 random-nonce limit. */
export const DEFAULT_USAGE_LIMIT = 2 ** 31 - 1;

const DATA_KEY = `SELECT workspace_id AS "workspaceId", version, wrapped_key AS "wrappedKey", nonce,
    master_key_version AS "masterKeyVersion"
  FROM workspace_data_keys WHERE workspace_id = $1::uuid AND version = $2::int`;

export type DataKeyRow = {
  workspaceId: string;
  version: number;
  wrappedKey: Uint8Array;
  nonce: Uint8Array;
  masterKeyVersion: number;
};

export type UsableDataKey = { version: number; masterKeyVersion: number; key: Buffer };

export type KeyringOptions = {
  masterKeys: MasterKeys;
  now: () => Date;
  /** Seals per data key version before a new one is created (default DEFAULT_USAGE_LIMIT). */
  usageLimit?: number;
  /** Unwrapped data keys kept in memory (default 256) … */
  cacheSize?: number;
  /** … for at most this long (default 5 minutes). */
  cacheTtlMs?: number;
};

export function newestMasterKey(masterKeys: MasterKeys): { version: number; key: KeyObject } {
  const newest = masterKeys.reduce<MasterKeys[number] | undefined>(
    (best, k) => (best === undefined || k.version > best.version ? k : best),
    undefined,
  );
  if (!newest) throw new Error('vault: no master key is configured (MULTICLAW_MASTER_KEYS)');
  return newest;
}

export function masterKeyFor(masterKeys: MasterKeys, version: number): KeyObject {
  const found = masterKeys.find((k) => k.version === version);
  if (!found) throw new VaultIntegrityError(`master key version ${version} is not loaded`);
  return found.key;
}

export function wrapDataKey(
  master: { version: number; key: KeyObject },
  workspaceId: string,
  dataKeyVersion: number,
  dataKey: Buffer,
): { wrappedKey: Buffer; nonce: Buffer } {
  const { ciphertext, nonce } = encrypt(
    master.key,
    dataKey,
    dataKeyAad(workspaceId, dataKeyVersion, master.version),
  );
  return { wrappedKey: ciphertext, nonce };
}

export function unwrapDataKey(masterKeys: MasterKeys, row: DataKeyRow): Buffer {
  const master = masterKeyFor(masterKeys, row.masterKeyVersion);
  const key = decrypt(
    master,
    row.wrappedKey,
    row.nonce,
    dataKeyAad(row.workspaceId, row.version, row.masterKeyVersion),
    `data key ${row.version}`,
  );
  if (key.length !== KEY_BYTES) throw new VaultIntegrityError(`data key ${row.version}: wrong length`);
  return key;
}

type RawKeyRow = {
  version: number;
  wrapped_key: Uint8Array;
  nonce: Uint8Array;
  master_key_version: number;
};

type CacheEntry = { key: Buffer; expires: number };

export type Keyring = {
  /**
   * The key for `uses` more seals (default 1) in the workspace: counts them in
   * one statement, creating or rolling versions as needed.
   */
  acquireForSeal(db: VaultDb | Sql, workspaceId: string, uses?: number): Promise<UsableDataKey>;
  /** An existing version's key (retired or not), for opening. */
  keyFor(db: VaultDb, workspaceId: string, version: number): Promise<UsableDataKey>;
  /**
   * The same from its row, read by the caller in the statement that read the
   * value (a reveal joins it): unwrapped (and checked) like `keyFor`'s, the
   * same cache keyed by the wrapped bytes.
   */
  keyFromRow(row: DataKeyRow): UsableDataKey;
  /** Creates version max+1 (wrapped by the newest master key), retiring the others. Returns it. */
  createNextVersion(db: VaultDb | Sql, workspaceId: string, initialUsage: number): Promise<UsableDataKey>;
  /** Drops every cached unwrapped key (zeroed). */
  clearCache(): void;
};

/** A connection or transaction of node-postgres (`Sql`), else a Prisma client or transaction. */
function isSql(db: VaultDb | Sql): db is Sql {
  return typeof (db as Partial<Sql>).query === 'function';
}

/** Where the keyring's statements go: the `Sql` given, or node-postgres under a Prisma client (sqlOf). */
function sqlFor(db: VaultDb | Sql): Sql {
  return isSql(db) ? db : sqlOf(db as Database);
}

export function createKeyring(options: KeyringOptions): Keyring {
  const usageLimit = options.usageLimit ?? DEFAULT_USAGE_LIMIT;
  const cacheSize = options.cacheSize ?? 256;
  const cacheTtlMs = options.cacheTtlMs ?? 5 * 60_000;
  const cache = new Map<string, CacheEntry>();

  function cacheKey(row: DataKeyRow): string {
    // The wrapped bytes are part of the key: a changed row is unwrapped (and checked) again.
    const digest = createHash('sha256').update(row.wrappedKey).update(row.nonce).digest('base64');
    return `${row.workspaceId}\0${row.version}\0${row.masterKeyVersion}\0${digest}`;
  }

  function unwrapCached(row: DataKeyRow): Buffer {
    const id = cacheKey(row);
    const now = options.now().getTime();
    const hit = cache.get(id);
    if (hit && hit.expires > now) {
      cache.delete(id);
      cache.set(id, hit); // most recently used last
      return hit.key;
    }
    if (hit) evict(id, hit);
    const key = unwrapDataKey(options.masterKeys, row);
    cache.set(id, { key, expires: now + cacheTtlMs });
    while (cache.size > cacheSize) {
      const [oldestId, oldest] = cache.entries().next().value as [string, CacheEntry];
      evict(oldestId, oldest);
    }
    return key;
  }

  function evict(id: string, entry: CacheEntry) {
    cache.delete(id);
    entry.key.fill(0);
  }

  function usable(workspaceId: string, raw: RawKeyRow): UsableDataKey {
    const row: DataKeyRow = {
      workspaceId,
      version: Number(raw.version),
      wrappedKey: raw.wrapped_key,
      nonce: raw.nonce,
      masterKeyVersion: Number(raw.master_key_version),
    };
    // A copy: the cached buffer may be zeroed on eviction while the caller uses it.
    return {
      version: row.version,
      masterKeyVersion: row.masterKeyVersion,
      key: Buffer.from(unwrapCached(row)),
    };
  }

  async function countUses(
    db: VaultDb | Sql,
    workspaceId: string,
    uses: number,
  ): Promise<RawKeyRow | undefined> {
    // Every seal and every sync batch counts: straight on node-postgres (through
    // Prisma inside a Prisma transaction, where sqlOf falls back to it).
    const { rows } = await sqlFor(db).query<RawKeyRow>(
      `UPDATE workspace_data_keys
          SET usage_count = usage_count + $2::int4
        WHERE workspace_id = $1::uuid
          AND version = (SELECT max(version) FROM workspace_data_keys WHERE workspace_id = $1::uuid)
          AND retired_at IS NULL
          AND usage_count <= $3::int4
       RETURNING version, wrapped_key, nonce, master_key_version`,
      [workspaceId, uses, usageLimit - uses],
    );
    return rows[0];
  }

  async function tryCreate(
    db: VaultDb | Sql,
    workspaceId: string,
    initialUsage: number,
    force: boolean,
  ): Promise<UsableDataKey | 'retry'> {
    const sql = sqlFor(db);
    const { rows: latestRows } = await sql.query<{ version: number; usable: boolean }>(
      `SELECT version, (retired_at IS NULL AND usage_count <= $2::int4) AS usable
         FROM workspace_data_keys WHERE workspace_id = $1::uuid
        ORDER BY version DESC LIMIT 1`,
      [workspaceId, usageLimit - Math.max(initialUsage, 1)],
    );
    const latest = latestRows[0];
    // A concurrent seal created a usable version after our count found none: use it.
    if (latest?.usable && !force) return 'retry';
    const version = Number(latest?.version ?? 0) + 1;
    const master = newestMasterKey(options.masterKeys);
    const dataKey = randomBytes(KEY_BYTES);
    const { wrappedKey, nonce } = wrapDataKey(master, workspaceId, version, dataKey);
    dataKey.fill(0);
    // ON CONFLICT: a concurrent seal created this version first (the primary key
    // decides); the caller retries and uses that one. No error aborts the transaction.
    const { rows: inserted } = await sql.query<RawKeyRow>(
      `INSERT INTO workspace_data_keys (workspace_id, version, wrapped_key, nonce, master_key_version, usage_count)
       VALUES ($1::uuid, $2::int4, $3::bytea, $4::bytea, $5::int4, $6::int4)
       ON CONFLICT (workspace_id, version) DO NOTHING
       RETURNING version, wrapped_key, nonce, master_key_version`,
      [workspaceId, version, wrappedKey, nonce, master.version, initialUsage],
    );
    if (inserted.length === 0) return 'retry';
    await sql.query(
      `UPDATE workspace_data_keys SET retired_at = $3::timestamptz
        WHERE workspace_id = $1::uuid AND version < $2::int4 AND retired_at IS NULL`,
      [workspaceId, version, options.now()],
    );
    // biome-ignore lint/style/noNonNullAssertion: length checked above
    return usable(workspaceId, inserted[0]!);
  }

  const keyring: Keyring = {
    async acquireForSeal(db, workspaceId, uses = 1) {
      if (!Number.isInteger(uses) || uses < 1 || uses > usageLimit) {
        throw new RangeError(`vault: cannot count ${uses} seals against a data key (limit ${usageLimit})`);
      }
      for (let attempt = 0; attempt < 20; attempt++) {
        const counted = await countUses(db, workspaceId, uses);
        if (counted) return usable(workspaceId, counted);
        const created = await tryCreate(db, workspaceId, uses, false);
        if (created !== 'retry') return created;
      }
      throw new Error('vault: could not obtain a data key (too much contention)');
    },

    async keyFor(db, workspaceId, version) {
      // Every reveal reads it: straight on node-postgres (through Prisma inside a transaction).
      const { rows } = await sqlOf(db as Database).query<DataKeyRow>(DATA_KEY, [workspaceId, version]);
      const row = rows[0];
      if (!row) throw new VaultIntegrityError(`data key version ${version} does not exist`);
      return {
        version: row.version,
        masterKeyVersion: row.masterKeyVersion,
        key: Buffer.from(unwrapCached(row)),
      };
    },

    keyFromRow(row) {
      return {
        version: Number(row.version),
        masterKeyVersion: Number(row.masterKeyVersion),
        key: Buffer.from(unwrapCached(row)),
      };
    },

    async createNextVersion(db, workspaceId, initialUsage) {
      for (let attempt = 0; attempt < 5; attempt++) {
        const created = await tryCreate(db, workspaceId, initialUsage, true);
        if (created !== 'retry') return created;
      }
      throw new Error('vault: could not create a data key (too much contention)');
    },

    clearCache() {
      for (const [id, entry] of [...cache]) evict(id, entry);
    },
  };
  return keyring;
}
