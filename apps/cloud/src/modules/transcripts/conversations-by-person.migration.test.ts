import { randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/database.js';
import { applyMigrations } from '../../db/migrate.js';
import { MIGRATIONS_DIR } from '../../db/migrations.js';

/**
 * The migration that names a synced conversation by (workspace, person, the
 * gateway's own id) instead of (gateway, that id), run on a database that
 * holds what the old key let in: a re-link's empty copy of a conversation, a
 * deleted conversation brought back by a re-link, and two tombstones of one
 * conversation. Afterwards each conversation is there once (the copy the
 * cloud held furthest), the deleted one stays deleted, and another person's
 * conversation with the same id is untouched.
 */

const MIGRATION = '20261201024112_conversations_by_person';
let database: TestDatabase | undefined;
let directory: string | undefined;

afterAll(async () => {
  await database?.drop();
  if (directory) rmSync(directory, { recursive: true, force: true });
});

/** The committed migrations up to (not including) this one. */
function migrationsBefore(): string {
  directory = mkdtempSync(join(tmpdir(), 'mc-migrations-'));
  const copy = join(directory, 'migrations');
  cpSync(MIGRATIONS_DIR, copy, { recursive: true });
  for (const folder of readdirSync(copy)) {
    if (/^\d{14}_/.test(folder) && folder >= MIGRATION) rmSync(join(copy, folder), { recursive: true });
  }
  return copy;
}

describe(`migration ${MIGRATION}`, () => {
  it('keeps one copy of each conversation, drops one that came back after its deletion, and leaves others alone', async () => {
    database = await createTestDatabase({ migrated: false });
    await applyMigrations({ databaseUrl: database.url, migrationsDir: migrationsBefore() });
    const db = new pg.Client({ connectionString: database.url });
    await db.connect();
    try {
      const [me, other, ws, first, second, theirs] = [1, 2, 3, 4, 5, 6].map(() => randomUUID()) as [
        string,
        string,
        string,
        string,
        string,
        string,
      ];
      await db.query(
        `INSERT INTO users (id, email, updated_at) VALUES ($1::uuid, $1::text || '@example.test', now()), ($2::uuid, $2::text || '@example.test', now())`,
        [me, other],
      );
      await db.query(`INSERT INTO workspaces (id, name, updated_at) VALUES ($1, 'w', now())`, [ws]);
      await db.query(
        `INSERT INTO memberships (workspace_id, user_id, role, updated_at) VALUES ($1, $2, 'owner', now()), ($1, $3, 'member', now())`,
        [ws, me, other],
      );
      // The first enrollment, revoked by an unlink; the second is the same install linked again.
      await db.query(
        `INSERT INTO gateways (id, workspace_id, owner_user_id, public_key, revoked_at) VALUES
           ($1, $4, $5, '\\x01', now()), ($2, $4, $5, '\\x02', NULL), ($3, $4, $6, '\\x03', NULL)`,
        [first, second, theirs, ws, me, other],
      );
      const conversation = async (gateway: string, owner: string, externalId: string, seqs: number[]) => {
        const id = randomUUID();
        const lastSeq = seqs.filter((seq, index) => seq === index + 1).length;
        await db.query(
          `INSERT INTO conversations (id, workspace_id, gateway_id, owner_user_id, external_id, agent_id, agent_source, last_seq, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, 'main', 'local', $6, clock_timestamp(), now())`,
          [id, ws, gateway, owner, externalId, lastSeq],
        );
        for (const seq of seqs) {
          await db.query(
            `INSERT INTO messages (id, conversation_id, seq, role, ciphertext, nonce, data_key_version, created_at)
             VALUES ($1, $2, $3, 'user', '\\x00', '\\x00', 1, now())`,
            [randomUUID(), id, seq],
          );
        }
        return id;
      };
      const kept = await conversation(first, me, 'a', [1, 2, 3]);
      // The re-link's copy: only the message past the cursor, never acked.
      const copy = await conversation(second, me, 'a', [4]);
      // Deleted in the cloud (tombstone under the first gateway), then recreated by the re-link's resend.
      const cameBack = await conversation(second, me, 'b', [1, 2]);
      await db.query(
        `INSERT INTO conversation_tombstones (gateway_id, external_id, workspace_id) VALUES ($1, 'b', $3), ($2, 'b', $3)`,
        [first, second, ws],
      );
      const plain = await conversation(second, me, 'c', [1]);
      const another = await conversation(theirs, other, 'a', [1, 2]);

      await applyMigrations({ databaseUrl: database.url });

      const rows = await db.query<{
        id: string;
        owner_user_id: string;
        external_id: string;
        last_seq: number;
      }>(
        'SELECT id::text, owner_user_id::text, external_id, last_seq FROM conversations ORDER BY external_id, last_seq',
      );
      expect(rows.rows.map((row) => row.id).sort()).toEqual([kept, plain, another].sort());
      expect(rows.rows.map((row) => row.id)).not.toContain(copy);
      expect(rows.rows.map((row) => row.id)).not.toContain(cameBack);
      const messages = await db.query<{ conversation_id: string; n: string }>(
        'SELECT conversation_id::text, count(*) AS n FROM messages GROUP BY conversation_id',
      );
      expect(Object.fromEntries(messages.rows.map((row) => [row.conversation_id, Number(row.n)]))).toEqual({
        [kept]: 3,
        [plain]: 1,
        [another]: 2,
      });
      const tombstones = await db.query(
        'SELECT workspace_id::text, owner_user_id::text, external_id FROM conversation_tombstones',
      );
      expect(tombstones.rows).toEqual([{ workspace_id: ws, owner_user_id: me, external_id: 'b' }]);

      // The new key holds: a second copy of one of my conversations is refused, another person's is not mine.
      await expect(
        db.query(
          `INSERT INTO conversations (workspace_id, gateway_id, owner_user_id, external_id, agent_id, agent_source, updated_at)
           VALUES ($1, $2, $3, 'a', 'main', 'local', now())`,
          [ws, second, me],
        ),
      ).rejects.toThrow(/unique/);
    } finally {
      await db.end();
    }
  }, 120_000);
});
