import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { manualClock } from '@multiclaw/test-support/clock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/database.js';
import { createPrismaClient, type Database } from '../../db/client.js';
import { canonicalAroundSeq, canonicalAuditEntry, createAuditRecorder } from './recorder.js';
import { type ChainHead, verifyAuditChain } from './verify.js';
import { auditVerifyCli } from './verify-cli.js';

let database: TestDatabase;
let db: Database;
const clock = manualClock('2026-11-24T12:00:00.000Z');
const tick = () => {
  clock.advanceMs(1_001);
  return clock.now();
};
let audit: ReturnType<typeof createAuditRecorder>;
const actorId = randomUUID();

beforeAll(async () => {
  database = await createTestDatabase();
  db = createPrismaClient(database.url);
  audit = createAuditRecorder({ db, now: tick });
});
afterAll(async () => {
  await db?.$disconnect();
  await database?.drop();
});

async function chainOf(workspaceId: string) {
  return db.auditEvent.findMany({ where: { workspaceId }, orderBy: { seq: 'asc' } });
}

async function workspaceWith(count: number): Promise<string> {
  const workspaceId = randomUUID();
  for (let i = 0; i < count; i += 1) {
    await audit.record({
      action: 'member.added',
      actorId,
      workspaceId,
      targetType: 'user',
      targetId: randomUUID(),
      metadata: { role: 'member', n: i },
      ip: '203.0.113.7',
      userAgent: 'audit-test/1.0',
    });
  }
  return workspaceId;
}

describe('canonicalAroundSeq', () => {
  it('is the canonical entry split around its seq, byte for byte (what audit_append hashes)', () => {
    const entry = {
      workspaceId: randomUUID(),
      seq: 0n,
      actorKind: 'user',
      actorId: randomUUID(),
      action: 'secret.revealed',
      targetType: 'secret',
      targetId: 'ünïcode "quoted" \\ 𝄞',
      metadata: { name: 'x", "y', version: 3, ok: true },
      ip: '::ffff:127.0.0.1',
      userAgent: 'agent/1.0 ✓',
      createdAt: new Date('2026-12-01T06:00:00.123Z'),
    };
    for (const seq of [1n, 9n, 10n, 123456789012n]) {
      const { head, tail } = canonicalAroundSeq(entry);
      const joined = Buffer.concat([head, Buffer.from(seq.toString()), tail]);
      expect(joined.equals(Buffer.from(canonicalAuditEntry({ ...entry, seq }), 'utf8'))).toBe(true);
    }
  });
});

describe('the per-workspace hash chain', () => {
  it('stays a single unbroken chain under 50 concurrent writers', async () => {
    const workspaceId = randomUUID();
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        audit.record({ action: 'agent.created', actorId, workspaceId, metadata: { i } }),
      ),
    );
    const rows = await chainOf(workspaceId);
    expect(rows.map((row) => Number(row.seq))).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(rows[0]?.prevHash).toBeNull();
    for (let i = 1; i < rows.length; i += 1) {
      expect(Buffer.from(rows[i]?.prevHash ?? []).equals(Buffer.from(rows[i - 1]?.hash ?? []))).toBe(true);
    }
    expect(new Set(rows.map((row) => (row.metadata as { i: number }).i)).size).toBe(50);
    expect(await verifyAuditChain(db, workspaceId)).toEqual({ ok: true, checked: 50 });
  });

  it('keeps two workspaces on independent chains, even when written concurrently', async () => {
    const [a, b] = [randomUUID(), randomUUID()];
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        audit.record({ action: 'workspace.updated', actorId, workspaceId: i % 2 === 0 ? a : b }),
      ),
    );
    for (const workspaceId of [a, b]) {
      const rows = await chainOf(workspaceId);
      expect(rows.map((row) => Number(row.seq))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(rows[0]?.prevHash).toBeNull();
      expect(await verifyAuditChain(db, workspaceId)).toEqual({ ok: true, checked: 10 });
    }
  });

  it('writes inside the caller’s transaction: a rollback leaves no entry and no gap', async () => {
    const workspaceId = await workspaceWith(1);
    await expect(
      db.$transaction(async (tx) => {
        await audit.record({ action: 'member.removed', actorId, workspaceId }, tx);
        throw new Error('caller failed');
      }),
    ).rejects.toThrow('caller failed');
    await db.$transaction(async (tx) => {
      await audit.record({ action: 'member.removed', actorId, workspaceId }, tx);
    });
    const rows = await chainOf(workspaceId);
    expect(rows.map((row) => [Number(row.seq), row.action])).toEqual([
      [1, 'member.added'],
      [2, 'member.removed'],
    ]);
    expect(await verifyAuditChain(db, workspaceId)).toEqual({ ok: true, checked: 2 });
  });

  it('hashes what is stored: odd IP spellings, user agents and metadata verify', async () => {
    const workspaceId = randomUUID();
    const odd = [
      { ip: '::2', userAgent: `x${'\ud800'}y\u0000z` },
      { ip: '2001:DB8:0:0:0:0:0:1', userAgent: 'é'.repeat(600) },
      { ip: '::ffff:10.0.0.1', userAgent: `${'a'.repeat(511)}😀` },
      { ip: '10.1.2.3', userAgent: undefined },
    ];
    for (const { ip, userAgent } of odd) {
      await audit.record({
        action: 'agent.updated',
        actorId,
        workspaceId,
        ip,
        userAgent,
        metadata: { zeta: 'ünïcødé', alpha: 1.5, mid: null, flag: true, big: 1e21 },
      });
    }
    const rows = await chainOf(workspaceId);
    expect(rows).toHaveLength(4);
    expect(rows[1]?.userAgent).toHaveLength(512);
    expect(await verifyAuditChain(db, workspaceId)).toEqual({ ok: true, checked: 4 });
  });

  it('keeps account-level events off any chain, and their hash survives the erasure of IP and user agent', async () => {
    const userId = randomUUID();
    await Promise.all(
      Array.from({ length: 10 }, () =>
        audit.record({
          action: 'auth.login.succeeded',
          actorId: userId,
          ip: '198.51.100.1',
          userAgent: 'ua',
        }),
      ),
    );
    const rows = await db.auditEvent.findMany({ where: { actorId: userId } });
    expect(rows).toHaveLength(10);
    for (const row of rows) {
      expect(row.workspaceId).toBeNull();
      expect(row.seq).toBe(0n);
      expect(row.prevHash).toBeNull();
    }
    // What account deletion does (identity/privacy.ts).
    await db.auditEvent.updateMany({ where: { actorId: userId }, data: { ip: null, userAgent: null } });
    expect((await verifyAuditChain(db)).ok).toBe(true);

    const victim = rows[3];
    await db.$executeRaw`UPDATE audit_events SET action = 'auth.login.failed' WHERE id = ${victim?.id}::uuid`;
    expect(await verifyAuditChain(db)).toEqual({
      ok: false,
      workspaceId: null,
      seq: 0,
      problem: 'hash_mismatch',
      entryId: victim?.id,
    });
    await db.$executeRaw`UPDATE audit_events SET action = 'auth.login.succeeded' WHERE id = ${victim?.id}::uuid`;
    expect((await verifyAuditChain(db)).ok).toBe(true);
  });
});

describe('verifyAuditChain catches tampering', () => {
  it('an edited row: hash mismatch at its seq', async () => {
    const workspaceId = await workspaceWith(6);
    await db.$executeRaw`UPDATE audit_events SET metadata = '{"role":"owner","n":3}'::jsonb
      WHERE workspace_id = ${workspaceId}::uuid AND seq = 4`;
    expect(await verifyAuditChain(db, workspaceId)).toMatchObject({
      ok: false,
      workspaceId,
      seq: 4,
      problem: 'hash_mismatch',
    });
  });

  it('an edited row whose hash was recomputed: the next entry’s link breaks', async () => {
    const workspaceId = await workspaceWith(5);
    const rows = await chainOf(workspaceId);
    const target = rows[1];
    if (!target) throw new Error('no row');
    const { hashAuditEntry } = await import('./recorder.js');
    const forged = hashAuditEntry(target.prevHash, { ...target, action: 'member.removed' });
    await db.$executeRaw`UPDATE audit_events SET action = 'member.removed', hash = ${new Uint8Array(forged)}
      WHERE id = ${target.id}::uuid`;
    expect(await verifyAuditChain(db, workspaceId)).toMatchObject({
      ok: false,
      workspaceId,
      seq: 3,
      problem: 'broken_link',
    });
  });

  it('a deleted row in the middle, or the first: a missing seq', async () => {
    const middle = await workspaceWith(6);
    await db.$executeRaw`DELETE FROM audit_events WHERE workspace_id = ${middle}::uuid AND seq = 3`;
    expect(await verifyAuditChain(db, middle)).toEqual({
      ok: false,
      workspaceId: middle,
      seq: 3,
      problem: 'missing_seq',
    });
    const first = await workspaceWith(3);
    await db.$executeRaw`DELETE FROM audit_events WHERE workspace_id = ${first}::uuid AND seq = 1`;
    expect(await verifyAuditChain(db, first)).toMatchObject({ ok: false, seq: 1, problem: 'missing_seq' });
  });

  it('a deleted row with the rest renumbered: hash mismatch (seq is hashed)', async () => {
    const workspaceId = await workspaceWith(5);
    await db.$executeRaw`DELETE FROM audit_events WHERE workspace_id = ${workspaceId}::uuid AND seq = 2`;
    await db.$executeRaw`UPDATE audit_events SET seq = seq - 1 WHERE workspace_id = ${workspaceId}::uuid AND seq > 2`;
    expect(await verifyAuditChain(db, workspaceId)).toMatchObject({ ok: false, seq: 2 });
  });

  it('a deleted last row is NOT detectable on its own; the reported head is what an external anchor catches', async () => {
    const workspaceId = await workspaceWith(4);
    const heads: ChainHead[] = [];
    expect(await verifyAuditChain(db, workspaceId, { onWorkspace: (h) => heads.push(h) })).toEqual({
      ok: true,
      checked: 4,
    });
    await db.$executeRaw`DELETE FROM audit_events WHERE workspace_id = ${workspaceId}::uuid AND seq = 4`;
    expect(await verifyAuditChain(db, workspaceId, { onWorkspace: (h) => heads.push(h) })).toEqual({
      ok: true,
      checked: 3,
    });
    expect(heads.map((h) => h.seq)).toEqual([4, 3]);
    expect(heads[0]?.hash).not.toBe(heads[1]?.hash);
  });

  it('checks across batches', async () => {
    const workspaceId = await workspaceWith(7);
    expect(await verifyAuditChain(db, workspaceId, { batchSize: 2 })).toEqual({ ok: true, checked: 7 });
    await db.$executeRaw`DELETE FROM audit_events WHERE workspace_id = ${workspaceId}::uuid AND seq = 5`;
    expect(await verifyAuditChain(db, workspaceId, { batchSize: 2 })).toMatchObject({ ok: false, seq: 5 });
  });
});

describe('audit:verify', () => {
  /** In-process: every exit path, without a process start per case. */
  async function run(args: string[], env: Record<string, string | undefined>) {
    const stdout: string[] = [];
    const stderr: string[] = [];
    const code = await auditVerifyCli(args, env, {
      log: (line) => stdout.push(line),
      error: (line) => stderr.push(line),
    });
    return { code, stdout: stdout.join('\n'), stderr: stderr.join('\n') };
  }

  it('exits 0 when intact (printing each head), 1 naming workspace and seq when tampered, 64/78 for usage', async () => {
    const scriptDb = await createTestDatabase();
    const scriptClient = createPrismaClient(scriptDb.url);
    try {
      const recorder = createAuditRecorder({ db: scriptClient, now: tick });
      const [a, b] = [randomUUID(), randomUUID()];
      for (let i = 0; i < 3; i += 1) {
        await recorder.record({ action: 'member.added', actorId, workspaceId: a });
        await recorder.record({ action: 'member.added', actorId, workspaceId: b });
      }
      await recorder.record({ action: 'auth.login.succeeded', actorId });

      const intact = await run([], { DATABASE_URL: scriptDb.url });
      expect(intact.code, intact.stderr).toBe(0);
      expect(intact.stdout).toContain(`workspace ${a}: 3 entries intact, head seq 3`);
      expect(intact.stdout).toContain(`workspace ${b}: 3 entries intact, head seq 3`);
      expect(intact.stdout).toContain('7 entries checked');

      await scriptClient.$executeRaw`UPDATE audit_events SET action = 'x.y' WHERE workspace_id = ${b}::uuid AND seq = 2`;
      const tampered = await run([], { DATABASE_URL: scriptDb.url });
      expect(tampered.code).toBe(1);
      expect(tampered.stderr).toContain(`hash_mismatch at workspace ${b}, seq 2`);
      const onlyA = await run(['--workspace', a.toUpperCase()], { DATABASE_URL: scriptDb.url });
      expect(onlyA.code, onlyA.stderr).toBe(0);
      expect(onlyA.stdout).toContain(a);
      expect(onlyA.stdout).not.toContain(b);

      expect((await run(['--help'], {})).code).toBe(0);
      expect((await run(['--workspace', 'nope'], { DATABASE_URL: scriptDb.url })).code).toBe(64);
      expect((await run(['--bogus'], { DATABASE_URL: scriptDb.url })).code).toBe(64);
      const missing = await run([], {});
      expect(missing.code).toBe(78);
      expect(missing.stderr).toContain('DATABASE_URL');

      // The script itself, once, as an operator runs it: the same exit code for the same database.
      const script = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          ['--import', 'tsx', 'scripts/audit-verify.ts'],
          {
            cwd: fileURLToPath(new URL('../../..', import.meta.url)),
            env: { PATH: process.env.PATH, DATABASE_URL: scriptDb.url },
          },
          (error, _stdout, stderr) => resolve({ code: error ? (error.code as number) : 0, stderr }),
        );
      });
      expect(script.code, script.stderr).toBe(1);
      expect(script.stderr).toContain(`hash_mismatch at workspace ${b}, seq 2`);
    } finally {
      await scriptClient.$disconnect();
      await scriptDb.drop();
    }
  });
});
