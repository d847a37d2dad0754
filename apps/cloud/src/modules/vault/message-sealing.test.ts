import { createSecretKey, randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type TestDatabaseClient, useTestDatabaseClient } from '../../../test/support/database-client.js';
import { VaultIntegrityError } from './contract.js';
import { createVaultCrypto } from './crypto.js';
import { reencryptWorkspace } from './rotation.js';

/**
 * Sealing transcript messages in batches: a whole batch's data-key uses are
 * counted in one statement, a sealer never seals more than it counted, and
 * the version limit holds for batches as for single seals.
 */

let ctx: TestDatabaseClient;
useTestDatabaseClient((ready) => {
  ctx = ready;
});

const masterKeys = [{ version: 1, key: createSecretKey(randomBytes(32)) }];
const now = () => new Date();

async function newWorkspace() {
  return (await ctx.db.workspace.create({ data: { name: `ws-${randomUUID()}` } })).id;
}

async function keyRows(workspaceId: string) {
  return ctx.db.workspaceDataKey.findMany({
    where: { workspaceId },
    orderBy: { version: 'asc' },
    select: { version: true, usageCount: true, retiredAt: true },
  });
}

const place = (workspaceId: string) => ({
  workspaceId,
  conversationId: randomUUID(),
  messageId: randomUUID(),
});

describe('message sealers', () => {
  it('seal exactly as many messages as they counted, for their own workspace only', async () => {
    const vault = createVaultCrypto({ masterKeys, now });
    const ws = await newWorkspace();
    const sealer = await vault.messageSealer(ctx.db, ws, 2);
    const first = place(ws);
    const sealed = sealer.seal(first, 'one');
    const elsewhere = place(await newWorkspace());
    expect(() => sealer.seal(elsewhere, 'elsewhere')).toThrow(/own workspace/);
    sealer.seal(place(ws), 'two');
    expect(() => sealer.seal(place(ws), 'three')).toThrow(/acquired for 2/);
    sealer.release();
    expect((await keyRows(ws)).map((k) => k.usageCount)).toEqual([2]);
    expect(
      await vault.openMessages(ctx.db, ws, [
        { ...sealed, conversationId: first.conversationId, id: first.messageId },
      ]),
    ).toEqual(['one']);

    const released = await vault.messageSealer(ctx.db, ws, 5);
    released.release();
    expect(() => released.seal(place(ws), 'after release')).toThrow();
  });

  it('moves to the next data key version when a batch would pass the limit; the old one keeps decrypting', async () => {
    const vault = createVaultCrypto({ masterKeys, now }, { usageLimit: 10 });
    const ws = await newWorkspace();
    const early = await vault.messageSealer(ctx.db, ws, 7);
    const at = place(ws);
    const old = early.seal(at, 'sealed under version 1');
    early.release();
    expect(old.dataKeyVersion).toBe(1);

    // 7 + 5 > 10: the batch does not squeeze into version 1.
    const late = await vault.messageSealer(ctx.db, ws, 5);
    expect(late.seal(place(ws), 'x').dataKeyVersion).toBe(2);
    late.release();
    const rows = await keyRows(ws);
    expect(rows.map((k) => [k.version, k.usageCount, k.retiredAt !== null])).toEqual([
      [1, 7, true],
      [2, 5, false],
    ]);
    expect(
      await vault.openMessages(ctx.db, ws, [{ ...old, conversationId: at.conversationId, id: at.messageId }]),
    ).toEqual(['sealed under version 1']);

    // A batch that fits exactly uses the current version up to the limit.
    (await vault.messageSealer(ctx.db, ws, 5)).release();
    expect((await keyRows(ws)).map((k) => k.usageCount)).toEqual([7, 10]);
    await expect(vault.messageSealer(ctx.db, ws, 11)).rejects.toThrow(RangeError);
  });

  it('counts every batch under concurrency', async () => {
    const vault = createVaultCrypto({ masterKeys, now });
    const ws = await newWorkspace();
    const sealers = await Promise.all(Array.from({ length: 20 }, () => vault.messageSealer(ctx.db, ws, 3)));
    for (const sealer of sealers) sealer.release();
    const rows = await keyRows(ws);
    expect(rows.reduce((sum, k) => sum + k.usageCount, 0)).toBe(60);
    expect(rows).toHaveLength(1);
  });

  it('reports the place of a message that fails, never its content', async () => {
    const vault = createVaultCrypto({ masterKeys, now });
    const ws = await newWorkspace();
    const sealer = await vault.messageSealer(ctx.db, ws, 1);
    const at = place(ws);
    const sealed = sealer.seal(at, 'private words');
    sealer.release();
    const moved = { ...sealed, conversationId: randomUUID(), id: at.messageId };
    const error = await vault.openMessages(ctx.db, ws, [moved]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VaultIntegrityError);
    expect((error as VaultIntegrityError).place).toEqual({
      workspaceId: ws,
      conversationId: moved.conversationId,
      messageId: at.messageId,
    });
    expect(JSON.stringify(error)).not.toContain('private words');
  });

  it('vault:reencrypt moves every message of the workspace to the new data key, in batches, and they still read', async () => {
    const vault = createVaultCrypto({ masterKeys, now });
    const ws = await newWorkspace();
    const other = await newWorkspace();
    const store = async (workspaceId: string, texts: string[]) => {
      const user = await ctx.db.user.create({ data: { email: `${randomUUID()}@example.test` } });
      const conversation = await ctx.db.conversation.create({
        data: {
          workspaceId,
          ownerUserId: user.id,
          externalId: randomUUID(),
          agentId: 'a',
          agentSource: 'local',
        },
      });
      const sealer = await vault.messageSealer(ctx.db, workspaceId, texts.length);
      const rows = texts.map((content, index) => {
        const id = randomUUID();
        return {
          id,
          conversationId: conversation.id,
          seq: index + 1,
          role: 'user' as const,
          createdAt: now(),
          ...sealer.seal({ workspaceId, conversationId: conversation.id, messageId: id }, content),
        };
      });
      sealer.release();
      await ctx.db.message.createMany({ data: rows });
      return conversation.id;
    };
    const texts = Array.from({ length: 7 }, (_, i) => `message ${i} ✓`);
    const conversationId = await store(ws, texts);
    const untouched = await store(other, ['not this workspace']);
    const read = async (id: string, workspaceId: string) => {
      const rows = await ctx.db.message.findMany({ where: { conversationId: id }, orderBy: { seq: 'asc' } });
      return {
        versions: rows.map((r) => r.dataKeyVersion),
        texts: await vault.openMessages(ctx.db, workspaceId, rows),
      };
    };
    const progress: string[] = [];
    const result = await reencryptWorkspace(ctx.db, { masterKeys, now }, ws, {
      batchSize: 3,
      onProgress: (p) => void progress.push(`${p.table} ${p.done}/${p.total}`),
    });
    expect(result).toMatchObject({ dataKeyVersion: 2, messages: 7 });
    expect(progress).toEqual(['messages 3/7', 'messages 6/7', 'messages 7/7']);
    expect(await read(conversationId, ws)).toEqual({ versions: Array(7).fill(2), texts });
    expect(await read(untouched, other)).toEqual({ versions: [1], texts: ['not this workspace'] });
  });
});
