import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/database.js';
import { createPrismaClient, type Database } from './client.js';

/** The rules the database itself enforces, whatever the application code does. */

let database: TestDatabase;
let db: Database;
let raw: pg.Client;

beforeAll(async () => {
  database = await createTestDatabase();
  db = createPrismaClient(database.url);
  raw = new pg.Client({ connectionString: database.url });
  await raw.connect();
});

afterAll(async () => {
  await raw?.end();
  await db?.$disconnect();
  await database?.drop();
});

const bytes = (length = 32) => new Uint8Array(randomBytes(length));
const email = () => `${randomUUID()}@example.test`;

async function user() {
  return db.user.create({ data: { email: email() } });
}

async function workspace() {
  return db.workspace.create({ data: { name: 'ws' } });
}

async function conversation() {
  const [owner, ws] = await Promise.all([user(), workspace()]);
  return db.conversation.create({
    data: { workspaceId: ws.id, ownerUserId: owner.id, externalId: randomUUID(), ...localAgent },
  });
}

const localAgent = { agentId: 'local-agent', agentSource: 'local' as const };

/** A message row; its content is opaque bytes here (these tests are about keys, not encryption). */
function message(conversationId: string, seq: number, id: string = randomUUID()) {
  return {
    id,
    conversationId,
    seq,
    role: 'user' as const,
    ciphertext: bytes(40),
    nonce: bytes(12),
    dataKeyVersion: 1,
    createdAt: new Date(),
  };
}

/** The SQLSTATE of a failed raw statement. */
async function sqlState(sql: string, params: unknown[]): Promise<string | undefined> {
  try {
    await raw.query(sql, params);
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code;
  }
}

describe('database constraints', () => {
  it('refuses a second user with the same email', async () => {
    const address = email();
    await db.user.create({ data: { email: address } });
    await expect(db.user.create({ data: { email: address } })).rejects.toMatchObject({ code: 'P2002' });
    expect(await db.user.count({ where: { email: address } })).toBe(1);
  });

  it('refuses a second membership for the same person in the same workspace', async () => {
    const [person, ws] = await Promise.all([user(), workspace()]);
    await db.membership.create({ data: { workspaceId: ws.id, userId: person.id, role: 'member' } });
    await expect(
      db.membership.create({ data: { workspaceId: ws.id, userId: person.id, role: 'owner' } }),
    ).rejects.toMatchObject({ code: 'P2002' });
    const rows = await db.membership.findMany({ where: { workspaceId: ws.id } });
    expect(rows.map((row) => row.role)).toEqual(['member']);
  });

  it('refuses a role outside owner|member (enforced by the database, not the client)', async () => {
    const [person, other, ws] = await Promise.all([user(), user(), workspace()]);
    const insert =
      'INSERT INTO memberships (workspace_id, user_id, role, updated_at) VALUES ($1, $2, $3, now())';
    // Raw SQL, past Prisma's own validation: the Postgres enum refuses it.
    expect(await sqlState(insert, [ws.id, person.id, 'admin'])).toBe('22P02');
    expect(await sqlState(insert, [ws.id, person.id, 'Owner'])).toBe('22P02');
    // The same statement with a valid role works, so the refusal above is about the role.
    expect(await sqlState(insert, [ws.id, other.id, 'owner'])).toBeUndefined();
  });

  it('refuses a message id that already exists', async () => {
    const conv = await conversation();
    const id = randomUUID();
    await db.message.create({ data: message(conv.id, 1, id) });
    await expect(db.message.create({ data: message(conv.id, 2, id) })).rejects.toMatchObject({
      code: 'P2002',
    });
    // Idempotent apply of a resent batch: ON CONFLICT skips what is already there.
    const inserted = await db.message.createMany({ data: [message(conv.id, 1, id)], skipDuplicates: true });
    expect(inserted.count).toBe(0);
  });

  it('refuses a second message with the same sequence number in a conversation', async () => {
    const [conv, otherConv] = await Promise.all([conversation(), conversation()]);
    await db.message.create({ data: message(conv.id, 1) });
    await expect(db.message.create({ data: message(conv.id, 1) })).rejects.toMatchObject({ code: 'P2002' });
    // Sequence numbers are per conversation.
    await expect(db.message.create({ data: message(otherConv.id, 1) })).resolves.toBeDefined();
  });

  it('refuses a second successor for one refresh token (no forked rotation family)', async () => {
    const person = await user();
    const session = await db.session.create({
      data: {
        userId: person.id,
        idleExpiresAt: new Date(Date.now() + 60_000),
        absoluteExpiresAt: new Date(Date.now() + 60_000),
      },
    });
    const parent = await db.refreshToken.create({ data: { sessionId: session.id, tokenHash: bytes() } });
    await db.refreshToken.create({
      data: { sessionId: session.id, tokenHash: bytes(), parentId: parent.id },
    });
    await expect(
      db.refreshToken.create({ data: { sessionId: session.id, tokenHash: bytes(), parentId: parent.id } }),
    ).rejects.toMatchObject({ code: 'P2002' });
  });

  it('refuses granting a secret to an agent of another workspace', async () => {
    const [ws, otherWs] = await Promise.all([workspace(), workspace()]);
    await db.workspaceDataKey.create({
      data: { workspaceId: ws.id, version: 1, wrappedKey: bytes(48), nonce: bytes(12), masterKeyVersion: 1 },
    });
    const secret = await db.secret.create({
      data: {
        workspaceId: ws.id,
        name: 'api-key',
        ciphertext: bytes(40),
        nonce: bytes(12),
        dataKeyVersion: 1,
        masterKeyVersion: 1,
      },
    });
    const foreignAgent = await db.agent.create({
      data: { workspaceId: otherWs.id, name: 'a', provider: 'openai', model: 'm' },
    });
    const insert = 'INSERT INTO secret_grants (workspace_id, secret_id, agent_id) VALUES ($1, $2, $3)';
    expect(await sqlState(insert, [ws.id, secret.id, foreignAgent.id])).toBe('23503');
    expect(await sqlState(insert, [otherWs.id, secret.id, foreignAgent.id])).toBe('23503');
  });

  it('refuses deleting a data key that a secret is still encrypted with', async () => {
    const ws = await workspace();
    await db.workspaceDataKey.create({
      data: { workspaceId: ws.id, version: 1, wrappedKey: bytes(48), nonce: bytes(12), masterKeyVersion: 1 },
    });
    await db.secret.create({
      data: {
        workspaceId: ws.id,
        name: 's',
        ciphertext: bytes(),
        nonce: bytes(12),
        dataKeyVersion: 1,
        masterKeyVersion: 1,
      },
    });
    expect(
      await sqlState('DELETE FROM workspace_data_keys WHERE workspace_id = $1 AND version = 1', [ws.id]),
    ).toBe('23503');
  });

  it('deleting a workspace deletes everything that belongs to it, and nothing else', async () => {
    const [owner, member, ws, otherWs] = await Promise.all([user(), user(), workspace(), workspace()]);
    await db.membership.createMany({
      data: [
        { workspaceId: ws.id, userId: owner.id, role: 'owner' },
        { workspaceId: ws.id, userId: member.id, role: 'member' },
        { workspaceId: otherWs.id, userId: owner.id, role: 'owner' },
      ],
    });
    await db.invitation.create({
      data: {
        workspaceId: ws.id,
        email: email(),
        role: 'member',
        tokenHash: bytes(),
        invitedById: owner.id,
        expiresAt: new Date(Date.now() + 60_000),
      },
    });
    const agent = await db.agent.create({
      data: { workspaceId: ws.id, name: 'helper', provider: 'openai', model: 'm' },
    });
    await db.workspaceDataKey.create({
      data: { workspaceId: ws.id, version: 1, wrappedKey: bytes(48), nonce: bytes(12), masterKeyVersion: 1 },
    });
    const secret = await db.secret.create({
      data: {
        workspaceId: ws.id,
        name: 's',
        ciphertext: bytes(),
        nonce: bytes(12),
        dataKeyVersion: 1,
        masterKeyVersion: 1,
      },
    });
    await db.secretVersion.create({
      data: {
        secretId: secret.id,
        version: 0,
        workspaceId: ws.id,
        ciphertext: bytes(),
        nonce: bytes(12),
        dataKeyVersion: 1,
        masterKeyVersion: 1,
      },
    });
    await db.secretGrant.create({ data: { workspaceId: ws.id, secretId: secret.id, agentId: agent.id } });
    const gateway = await db.gateway.create({
      data: { workspaceId: ws.id, ownerUserId: member.id, publicKey: bytes() },
    });
    await db.gatewayEnrollment.create({
      data: {
        workspaceId: ws.id,
        createdById: member.id,
        codeHash: bytes(),
        expiresAt: new Date(Date.now() + 60_000),
        gatewayId: gateway.id,
      },
    });
    await db.gatewayAssertionJti.create({
      data: { gatewayId: gateway.id, jti: randomUUID(), expiresAt: new Date(Date.now() + 60_000) },
    });
    const conv = await db.conversation.create({
      data: {
        workspaceId: ws.id,
        gatewayId: gateway.id,
        ownerUserId: member.id,
        externalId: 'c1',
        ...localAgent,
      },
    });
    await db.message.createMany({ data: [message(conv.id, 1), message(conv.id, 2)] });
    await db.auditEvent.create({
      data: {
        workspaceId: ws.id,
        seq: 1n,
        actorKind: 'user',
        actorId: owner.id,
        action: 'workspace.created',
        hash: bytes(),
      },
    });

    const children = async (workspaceId: string) => ({
      memberships: await db.membership.count({ where: { workspaceId } }),
      invitations: await db.invitation.count({ where: { workspaceId } }),
      agents: await db.agent.count({ where: { workspaceId } }),
      dataKeys: await db.workspaceDataKey.count({ where: { workspaceId } }),
      secrets: await db.secret.count({ where: { workspaceId } }),
      secretVersions: await db.secretVersion.count({ where: { workspaceId } }),
      grants: await db.secretGrant.count({ where: { workspaceId } }),
      gateways: await db.gateway.count({ where: { workspaceId } }),
      enrollments: await db.gatewayEnrollment.count({ where: { workspaceId } }),
      jtis: await db.gatewayAssertionJti.count({ where: { gateway: { workspaceId } } }),
      conversations: await db.conversation.count({ where: { workspaceId } }),
      messages: await db.message.count({ where: { conversation: { workspaceId } } }),
    });
    const before = await children(ws.id);
    for (const [table, count] of Object.entries(before)) expect(count, table).toBeGreaterThan(0);
    const jtisBefore = await db.gatewayAssertionJti.count({ where: { gatewayId: gateway.id } });
    const messagesBefore = await db.message.count({ where: { conversationId: conv.id } });

    await db.workspace.delete({ where: { id: ws.id } });

    for (const [table, count] of Object.entries(await children(ws.id))) expect(count, table).toBe(0);
    // Rows reached only through deleted parents are gone too (not merely unreachable).
    expect(jtisBefore).toBe(1);
    expect(await db.gatewayAssertionJti.count({ where: { gatewayId: gateway.id } })).toBe(0);
    expect(messagesBefore).toBe(2);
    expect(await db.message.count({ where: { conversationId: conv.id } })).toBe(0);
    // People and other workspaces stay; the audit trail outlives what it records.
    expect(await db.user.count({ where: { id: { in: [owner.id, member.id] } } })).toBe(2);
    expect(await db.membership.count({ where: { workspaceId: otherWs.id } })).toBe(1);
    expect(await db.auditEvent.count({ where: { workspaceId: ws.id } })).toBe(1);
  });

  it("deleting a user deletes their credentials, sessions, memberships, gateways and transcripts, not others'", async () => {
    const [person, other, ws] = await Promise.all([user(), user(), workspace()]);
    await db.passwordCredential.create({
      data: { userId: person.id, hash: '$argon2id$v=19$m=19456,t=2,p=1$x$y' },
    });
    const session = await db.session.create({
      data: { userId: person.id, idleExpiresAt: new Date(), absoluteExpiresAt: new Date() },
    });
    await db.refreshToken.create({ data: { sessionId: session.id, tokenHash: bytes() } });
    await db.membership.createMany({
      data: [
        { workspaceId: ws.id, userId: person.id, role: 'member' },
        { workspaceId: ws.id, userId: other.id, role: 'owner' },
      ],
    });
    await db.externalIdentity.create({
      data: { userId: person.id, provider: 'multiplai', issuer: 'https://idp.test', subject: randomUUID() },
    });
    const gateway = await db.gateway.create({
      data: { workspaceId: ws.id, ownerUserId: person.id, publicKey: bytes() },
    });
    await db.conversation.create({
      data: {
        workspaceId: ws.id,
        gatewayId: gateway.id,
        ownerUserId: person.id,
        externalId: 'mine',
        ...localAgent,
      },
    });

    await db.user.delete({ where: { id: person.id } });

    expect(await db.passwordCredential.count({ where: { userId: person.id } })).toBe(0);
    expect(await db.session.count({ where: { userId: person.id } })).toBe(0);
    expect(await db.refreshToken.count({ where: { sessionId: session.id } })).toBe(0);
    expect(await db.externalIdentity.count({ where: { userId: person.id } })).toBe(0);
    expect(await db.gateway.count({ where: { ownerUserId: person.id } })).toBe(0);
    expect(await db.conversation.count({ where: { ownerUserId: person.id } })).toBe(0);
    expect(await db.membership.findMany({ where: { workspaceId: ws.id } })).toEqual([
      expect.objectContaining({ userId: other.id, role: 'owner' }),
    ]);
  });
});
