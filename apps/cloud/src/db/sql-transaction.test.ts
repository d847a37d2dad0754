import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/database.js';
import {
  advisoryXactLock,
  createPrismaClient,
  type Database,
  sqlOf,
  sqlTransactionOpening,
} from './client.js';

let database: TestDatabase;
let db: Database;

beforeAll(async () => {
  database = await createTestDatabase();
  db = createPrismaClient(database.url);
});

afterAll(async () => {
  await db?.$disconnect();
  await database?.drop();
});

describe('advisoryXactLock', () => {
  it('accepts ids and refuses anything that could leave the literal', () => {
    const key = `${randomUUID()}/${randomUUID()}`;
    expect(advisoryXactLock(7, key)).toContain(`hashtext('${key}')`);
    for (const bad of ["a'); DROP TABLE users; --", "x'y", 'a b', '', 'ä', 'a\\b', 'x'.repeat(201)])
      expect(() => advisoryXactLock(7, bad)).toThrow(RangeError);
    expect(() => advisoryXactLock(2 ** 31, 'a')).toThrow(RangeError);
    expect(() => advisoryXactLock(1.5, 'a')).toThrow(RangeError);
  });
});

describe('sqlTransactionOpening', () => {
  it('holds the opening lock for the whole transaction, and commits or rolls back its work', async () => {
    const key = randomUUID();
    const lockedElsewhere = async () => {
      const { rows } = await sqlOf(db).query<{ free: boolean }>(
        'SELECT pg_try_advisory_xact_lock(99::int4, hashtext($1)) AS free',
        [key],
      );
      return rows[0]?.free === false;
    };
    const email = `${randomUUID()}@example.test`;
    const seen = await sqlTransactionOpening(db, advisoryXactLock(99, key), async (sql) => {
      await sql.query('INSERT INTO users (id, email, updated_at) VALUES (gen_random_uuid(), $1, now())', [
        email,
      ]);
      return lockedElsewhere();
    });
    expect(seen).toBe(true);
    expect(await lockedElsewhere()).toBe(false);
    expect(await db.user.count({ where: { email } })).toBe(1);

    const other = `${randomUUID()}@example.test`;
    await expect(
      sqlTransactionOpening(db, advisoryXactLock(99, key), async (sql) => {
        await sql.query('INSERT INTO users (id, email, updated_at) VALUES (gen_random_uuid(), $1, now())', [
          other,
        ]);
        throw new Error('no');
      }),
    ).rejects.toThrow('no');
    expect(await db.user.count({ where: { email: other } })).toBe(0);
    expect(await lockedElsewhere()).toBe(false);
  });
});
