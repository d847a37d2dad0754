import { execFile } from 'node:child_process';
import { createSecretKey, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { ErrorEnvelope, Page, RevealSecretResponse, Secret } from '@multiclaw/protocol';
import type { LightMyRequestResponse } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestUser, testActors } from '../../../test/support/actors.js';
import { createTestApp } from '../../../test/support/app.js';
import { createAuditRecorder } from '../audit/recorder.js';
import { createVaultCrypto } from './crypto.js';
import { valuesForGateway } from './gateway-fetch.js';
import { createSecretService } from './secrets-service.js';

const PASSWORD = 'correct horse battery staple 7';
const now = () => new Date();
const MASTER_KEY = randomBytes(32);
const crypto = createVaultCrypto({ masterKeys: [{ version: 1, key: createSecretKey(MASTER_KEY) }], now });

let ctx: Awaited<ReturnType<typeof createTestApp>>;
type User = TestUser;
let owner: User;
let member: User;
let stranger: User;

beforeAll(async () => {
  ctx = await createTestApp({
    now,
    env: { AUTH_RATE_LIMIT_MAX: '10000', MULTICLAW_MASTER_KEYS: `1:${MASTER_KEY.toString('base64')}` },
  });
  [owner, member, stranger] = await Promise.all([signUp(), signUp(), signUp()]);
});
afterAll(async () => {
  await ctx?.close();
});

const { send, signUp, workspace } = testActors(() => ctx, {
  address: '203.0.113.9',
  userAgent: 'vault-test/1.0',
  password: PASSWORD,
});

async function agent(workspaceId: string): Promise<string> {
  const created = await ctx.app.db.agent.create({
    data: {
      workspaceId,
      name: `agent-${randomBytes(3).toString('hex')}`,
      provider: 'openai',
      model: 'gpt-4o',
    },
  });
  return created.id;
}

/** A value no test could produce by accident, so finding it anywhere is a leak. */
const plaintext = () => `sk-live-${randomBytes(16).toString('hex')}`;
const secretName = () => `KEY_${randomBytes(4).toString('hex')}`;

const codeOf = (response: LightMyRequestResponse) => ErrorEnvelope.parse(response.json()).error.code;
const issuesOf = (response: LightMyRequestResponse) =>
  ErrorEnvelope.parse(response.json()).error.details?.issues ?? [];

async function createSecret(
  workspaceId: string,
  body: Record<string, unknown>,
  user: User = owner,
): Promise<Secret> {
  const response = await send({
    method: 'POST',
    url: `/v1/workspaces/${workspaceId}/secrets`,
    token: user.token,
    payload: body,
  });
  expect(response.statusCode, response.body).toBe(201);
  return Secret.parse(response.json());
}

async function reveal(workspaceId: string, secretId: string, user: User = owner) {
  return send({
    method: 'POST',
    url: `/v1/workspaces/${workspaceId}/secrets/${secretId}/reveal`,
    token: user.token,
  });
}

describe('secrets API', () => {
  it('owner creates, lists, reads, updates, reveals and deletes; responses never carry the value', async () => {
    const wid = await workspace([owner]);
    const value = plaintext();
    const created = await send({
      method: 'POST',
      url: `/v1/workspaces/${wid}/secrets`,
      token: owner.token,
      payload: { name: 'OPENAI_API_KEY', value, description: 'prod key' },
    });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.body).not.toContain(value);
    const secret = Secret.parse(created.json());
    expect(Object.keys(created.json()).sort()).toEqual(
      ['agentIds', 'createdAt', 'description', 'id', 'name', 'updatedAt', 'version'].sort(),
    );
    expect(secret).toMatchObject({
      name: 'OPENAI_API_KEY',
      description: 'prod key',
      version: 1,
      agentIds: [],
    });

    const listed = await send({ method: 'GET', url: `/v1/workspaces/${wid}/secrets`, token: owner.token });
    expect(listed.statusCode).toBe(200);
    expect(listed.body).not.toContain(value);
    expect(
      Page(Secret)
        .parse(listed.json())
        .items.map((item) => item.id),
    ).toEqual([secret.id]);

    const read = await send({
      method: 'GET',
      url: `/v1/workspaces/${wid}/secrets/${secret.id}`,
      token: owner.token,
    });
    expect(read.statusCode).toBe(200);
    expect(read.body).not.toContain(value);
    expect(Secret.parse(read.json())).toEqual(secret);

    const revealed = await reveal(wid, secret.id);
    expect(revealed.statusCode, revealed.body).toBe(200);
    expect(revealed.headers['cache-control']).toBe('no-store');
    expect(RevealSecretResponse.parse(revealed.json())).toEqual({ value });

    const newValue = plaintext();
    const updated = await send({
      method: 'PUT',
      url: `/v1/workspaces/${wid}/secrets/${secret.id}`,
      token: owner.token,
      payload: { value: newValue, description: null },
    });
    expect(updated.statusCode, updated.body).toBe(200);
    expect(updated.body).not.toContain(newValue);
    expect(Secret.parse(updated.json())).toMatchObject({
      version: 2,
      description: null,
      name: 'OPENAI_API_KEY',
    });
    expect((await reveal(wid, secret.id)).json()).toEqual({ value: newValue });

    const described = await send({
      method: 'PUT',
      url: `/v1/workspaces/${wid}/secrets/${secret.id}`,
      token: owner.token,
      payload: { description: 'rotated' },
    });
    expect(Secret.parse(described.json())).toMatchObject({ version: 2, description: 'rotated' });
    expect((await reveal(wid, secret.id)).json()).toEqual({ value: newValue });

    const empty = await send({
      method: 'PUT',
      url: `/v1/workspaces/${wid}/secrets/${secret.id}`,
      token: owner.token,
      payload: {},
    });
    expect(empty.statusCode).toBe(400);

    const deleted = await send({
      method: 'DELETE',
      url: `/v1/workspaces/${wid}/secrets/${secret.id}`,
      token: owner.token,
    });
    expect(deleted.statusCode).toBe(204);
    const gone = await send({
      method: 'GET',
      url: `/v1/workspaces/${wid}/secrets/${secret.id}`,
      token: owner.token,
    });
    expect(gone.statusCode).toBe(404);
    expect((await reveal(wid, secret.id)).statusCode).toBe(404);
    expect(await ctx.app.db.secretVersion.count({ where: { secretId: secret.id } })).toBe(0);

    const actions = await ctx.app.db.auditEvent.findMany({
      where: { workspaceId: wid, targetId: secret.id },
      orderBy: { seq: 'asc' },
      select: { action: true, actorId: true },
    });
    expect(actions.map((event) => event.action)).toEqual([
      'secret.created',
      'secret.revealed',
      'secret.updated',
      'secret.revealed',
      'secret.updated',
      'secret.revealed',
      'secret.deleted',
    ]);
    expect(actions.every((event) => event.actorId === owner.id)).toBe(true);
  });

  it('paginates the list', async () => {
    const wid = await workspace([owner]);
    for (let i = 0; i < 3; i++) await createSecret(wid, { name: `K${i}`, value: plaintext() });
    const first = await send({
      method: 'GET',
      url: `/v1/workspaces/${wid}/secrets?limit=2`,
      token: owner.token,
    });
    const page1 = Page(Secret).parse(first.json());
    expect(page1.items).toHaveLength(2);
    expect(page1.nextCursor).not.toBeNull();
    const second = await send({
      method: 'GET',
      url: `/v1/workspaces/${wid}/secrets?limit=2&cursor=${page1.nextCursor}`,
      token: owner.token,
    });
    const page2 = Page(Secret).parse(second.json());
    expect(page2.items.map((item) => item.name)).toEqual(['K2']);
    expect(page2.nextCursor).toBeNull();
  });

  it('members list and read metadata; create, update, delete and reveal are 403', async () => {
    const wid = await workspace([owner], [member]);
    const secret = await createSecret(wid, { name: secretName(), value: plaintext() });
    const base = `/v1/workspaces/${wid}/secrets`;
    expect((await send({ method: 'GET', url: base, token: member.token })).statusCode).toBe(200);
    expect((await send({ method: 'GET', url: `${base}/${secret.id}`, token: member.token })).statusCode).toBe(
      200,
    );
    const refused = [
      await send({ method: 'POST', url: base, token: member.token, payload: { name: 'X', value: 'v' } }),
      await send({
        method: 'PUT',
        url: `${base}/${secret.id}`,
        token: member.token,
        payload: { value: 'v2' },
      }),
      await send({ method: 'DELETE', url: `${base}/${secret.id}`, token: member.token }),
      await reveal(wid, secret.id, member),
    ];
    expect(refused.map((response) => response.statusCode)).toEqual([403, 403, 403, 403]);
    expect(refused.map(codeOf)).toEqual(['FORBIDDEN', 'FORBIDDEN', 'FORBIDDEN', 'FORBIDDEN']);
    // Nothing changed.
    expect((await ctx.app.db.secret.findUniqueOrThrow({ where: { id: secret.id } })).version).toBe(1);
    expect(await ctx.app.db.secret.count({ where: { workspaceId: wid } })).toBe(1);
  });

  it('non-members get 404 on every route, and a secret of workspace B through A is 404', async () => {
    const a = await workspace([owner]);
    const b = await workspace([owner]);
    const inB = await createSecret(b, { name: secretName(), value: plaintext() });
    const routes = (wid: string, sid: string) => [
      { method: 'GET' as const, url: `/v1/workspaces/${wid}/secrets` },
      { method: 'POST' as const, url: `/v1/workspaces/${wid}/secrets`, payload: { name: 'Y', value: 'v' } },
      { method: 'GET' as const, url: `/v1/workspaces/${wid}/secrets/${sid}` },
      { method: 'PUT' as const, url: `/v1/workspaces/${wid}/secrets/${sid}`, payload: { value: 'v' } },
      { method: 'DELETE' as const, url: `/v1/workspaces/${wid}/secrets/${sid}` },
      { method: 'POST' as const, url: `/v1/workspaces/${wid}/secrets/${sid}/reveal` },
    ];
    for (const route of routes(b, inB.id)) {
      const response = await send({ ...route, token: stranger.token });
      expect(response.statusCode, `${route.method} ${route.url}`).toBe(404);
    }
    for (const route of routes(a, inB.id).slice(2)) {
      const response = await send({ ...route, token: owner.token });
      expect(response.statusCode, `${route.method} ${route.url}`).toBe(404);
      expect(codeOf(response)).toBe('NOT_FOUND');
    }
    const still = await ctx.app.db.secret.findUniqueOrThrow({ where: { id: inB.id } });
    expect(still.version).toBe(1);
  });

  it('names are unique per workspace (409 SECRET_NAME_TAKEN), not across workspaces', async () => {
    const a = await workspace([owner]);
    const b = await workspace([owner]);
    await createSecret(a, { name: 'DUP', value: plaintext() });
    const value = plaintext();
    const again = await send({
      method: 'POST',
      url: `/v1/workspaces/${a}/secrets`,
      token: owner.token,
      payload: { name: 'DUP', value },
    });
    expect(again.statusCode).toBe(409);
    expect(codeOf(again)).toBe('SECRET_NAME_TAKEN');
    expect(again.body).not.toContain(value);
    await createSecret(b, { name: 'DUP', value: plaintext() });
    expect(await ctx.app.db.secret.count({ where: { workspaceId: a } })).toBe(1);
  });

  it('enforces size limits on names, values and descriptions, never quoting the value', async () => {
    const wid = await workspace([owner]);
    const post = (payload: Record<string, unknown>) =>
      send({ method: 'POST', url: `/v1/workspaces/${wid}/secrets`, token: owner.token, payload });

    for (const name of ['', '9LIVES', 'has space', 'a/b', `A${'x'.repeat(128)}`]) {
      const response = await post({ name, value: 'v' });
      expect(response.statusCode, name).toBe(400);
      expect(issuesOf(response).map((issue) => issue.path)).toContain('body.name');
    }
    await createSecret(wid, { name: `A${'x'.repeat(127)}`, value: 'v' });
    await createSecret(wid, { name: '_a.b-c', value: 'v' });

    // 64 KiB counted in UTF-8 bytes: 'é' is two bytes.
    const atLimit = 'é'.repeat(32 * 1024);
    const ok = await createSecret(wid, { name: 'BIG', value: atLimit });
    expect((await reveal(wid, ok.id)).json()).toEqual({ value: atLimit });
    const tooBig = `${'é'.repeat(32 * 1024 - 1)}abc`;
    const refused = await post({ name: 'TOO_BIG', value: tooBig });
    expect(refused.statusCode).toBe(400);
    expect(issuesOf(refused).map((issue) => issue.path)).toEqual(['body.value']);
    expect(refused.body).not.toContain('ééé');
    expect((await post({ name: 'EMPTY', value: '' })).statusCode).toBe(400);

    const longDescription = await post({ name: 'D', value: 'v', description: 'd'.repeat(1001) });
    expect(issuesOf(longDescription).map((issue) => issue.path)).toEqual(['body.description']);
    await createSecret(wid, { name: 'D', value: 'v', description: 'd'.repeat(1000) });

    const tooBigUpdate = await send({
      method: 'PUT',
      url: `/v1/workspaces/${wid}/secrets/${ok.id}`,
      token: owner.token,
      payload: { value: tooBig },
    });
    expect(tooBigUpdate.statusCode).toBe(400);
    expect(await ctx.app.db.secret.count({ where: { workspaceId: wid, name: 'TOO_BIG' } })).toBe(0);
  });

  it('keeps only the configured number of superseded versions (default 1), each still decryptable', async () => {
    const wid = await workspace([owner]);
    const values = [plaintext(), plaintext(), plaintext(), plaintext()];
    const secret = await createSecret(wid, { name: 'ROTATING', value: values[0] });
    for (const value of values.slice(1)) {
      const response = await send({
        method: 'PUT',
        url: `/v1/workspaces/${wid}/secrets/${secret.id}`,
        token: owner.token,
        payload: { value },
      });
      expect(response.statusCode, response.body).toBe(200);
    }
    const kept = await ctx.app.db.secretVersion.findMany({ where: { secretId: secret.id } });
    expect(kept.map((row) => row.version)).toEqual([3]);
    const keptRow = kept[0];
    if (!keptRow) throw new Error('no kept version');
    const opened = await crypto.open(
      ctx.app.db,
      { workspaceId: wid, secretId: secret.id },
      {
        ciphertext: new Uint8Array(keptRow.ciphertext),
        nonce: new Uint8Array(keptRow.nonce),
        formatVersion: keptRow.formatVersion,
        dataKeyVersion: keptRow.dataKeyVersion,
        masterKeyVersion: keptRow.masterKeyVersion,
      },
    );
    expect(opened).toBe(values[2]);
    expect((await reveal(wid, secret.id)).json()).toEqual({ value: values[3] });
    expect((await ctx.app.db.secret.findUniqueOrThrow({ where: { id: secret.id } })).version).toBe(4);

    // keepVersions: 2 keeps two, 0 keeps none.
    const audit = createAuditRecorder({ db: ctx.app.db, now });
    const actor = { userId: owner.id };
    for (const [keepVersions, expected] of [
      [2, [3, 4]],
      [0, []],
    ] as const) {
      const service = createSecretService({ db: ctx.app.db, now, audit, crypto, keepVersions });
      const created = await service.create(
        wid,
        { name: `KEEP_${keepVersions}`, value: 'v1', agentIds: [] },
        actor,
      );
      for (const value of ['v2', 'v3', 'v4', 'v5']) await service.update(wid, created.id, { value }, actor);
      const rows = await ctx.app.db.secretVersion.findMany({
        where: { secretId: created.id },
        orderBy: { version: 'asc' },
      });
      expect(rows.map((row) => row.version)).toEqual(expected);
    }
  });

  it('grants: agentIds must be agents of the same workspace (400 with the field path)', async () => {
    const wid = await workspace([owner]);
    const other = await workspace([owner]);
    const [a1, a2] = [await agent(wid), await agent(wid)];
    const foreign = await agent(other);
    const post = (agentIds: string[]) =>
      send({
        method: 'POST',
        url: `/v1/workspaces/${wid}/secrets`,
        token: owner.token,
        payload: { name: secretName(), value: plaintext(), agentIds },
      });
    const refused = await post([a1, foreign]);
    expect(refused.statusCode).toBe(400);
    expect(issuesOf(refused).map((issue) => issue.path)).toEqual(['body.agentIds.1']);
    const duplicate = await post([a1, a1]);
    expect(duplicate.statusCode).toBe(400);
    expect(await ctx.app.db.secret.count({ where: { workspaceId: wid } })).toBe(0);

    const secret = await createSecret(wid, { name: secretName(), value: plaintext(), agentIds: [a1] });
    expect(secret.agentIds).toEqual([a1]);
    const agentRead = await send({
      method: 'GET',
      url: `/v1/workspaces/${wid}/agents/${a1}`,
      token: owner.token,
    });
    expect(agentRead.json().secretIds).toEqual([secret.id]);

    const moved = await send({
      method: 'PUT',
      url: `/v1/workspaces/${wid}/secrets/${secret.id}`,
      token: owner.token,
      payload: { agentIds: [a2] },
    });
    expect(Secret.parse(moved.json())).toMatchObject({ agentIds: [a2], version: 1 });
    const badUpdate = await send({
      method: 'PUT',
      url: `/v1/workspaces/${wid}/secrets/${secret.id}`,
      token: owner.token,
      payload: { agentIds: [a2, foreign] },
    });
    expect(badUpdate.statusCode).toBe(400);
    expect(issuesOf(badUpdate).map((issue) => issue.path)).toEqual(['body.agentIds.1']);
    const grants = await ctx.app.db.secretGrant.findMany({ where: { secretId: secret.id } });
    expect(grants.map((grant) => grant.agentId)).toEqual([a2]);
  });

  it('a tampered ciphertext answers VAULT_INTEGRITY_FAILED and logs the workspace and secret, never a value', async () => {
    const wid = await workspace([owner]);
    const value = plaintext();
    const secret = await createSecret(wid, { name: secretName(), value });
    const row = await ctx.app.db.secret.findUniqueOrThrow({ where: { id: secret.id } });
    const flipped = new Uint8Array(row.ciphertext);
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    await ctx.app.db.secret.update({ where: { id: secret.id }, data: { ciphertext: flipped } });
    const response = await reveal(wid, secret.id);
    expect(response.statusCode).toBe(500);
    const { error } = ErrorEnvelope.parse(response.json());
    expect(error.code).toBe('VAULT_INTEGRITY_FAILED');
    expect(error.details).toBeUndefined();
    const logged = ctx.logs.lines.filter((line) => line.errorCode === 'VAULT_INTEGRITY_FAILED');
    expect(logged).toHaveLength(1);
    expect(logged[0]?.level).toBe(50); // pino's error level
    expect(logged[0]?.err).toMatchObject({
      place: { workspaceId: wid, secretId: secret.id },
      reason: expect.stringContaining('authentication failed'),
    });
    expect(ctx.logs.raw.join('')).not.toContain(value);
    expect(
      await ctx.app.db.auditEvent.count({ where: { targetId: secret.id, action: 'secret.revealed' } }),
    ).toBe(0);
  });
});

describe('valuesForGateway', () => {
  async function setup() {
    const owns = await signUp();
    const uses = await signUp();
    const wid = await workspace([owns], [uses]);
    const other = await workspace([owns], [uses]);
    const granted = await agent(wid);
    const ungranted = await agent(wid);
    const foreignAgent = await agent(other);
    const value = plaintext();
    const secret = await createSecret(wid, { name: 'GRANTED', value, agentIds: [granted] }, owns);
    await createSecret(wid, { name: 'NOT_GRANTED', value: plaintext() }, owns);
    const foreignValue = plaintext();
    await createSecret(other, { name: 'FOREIGN', value: foreignValue, agentIds: [foreignAgent] }, owns);
    const gateway = await ctx.app.db.gateway.create({
      data: { workspaceId: wid, ownerUserId: uses.id, publicKey: new Uint8Array(randomBytes(32)) },
    });
    const deps = { db: ctx.app.db, audit: createAuditRecorder({ db: ctx.app.db, now }), crypto };
    return { wid, other, granted, ungranted, foreignAgent, value, foreignValue, secret, gateway, uses, deps };
  }

  const refusal = (promise: Promise<unknown>) =>
    expect(promise).rejects.toMatchObject({ code: 'SECRET_GATEWAY_NOT_AUTHORIZED' });

  it('returns only values granted to the given agents, auditing each fetch by secret id only', async () => {
    const s = await setup();
    const fetched = await valuesForGateway(s.deps, {
      workspaceId: s.wid,
      gatewayId: s.gateway.id,
      agentIds: [s.granted, s.ungranted, s.foreignAgent],
    });
    expect(fetched).toEqual([
      { id: s.secret.id, name: 'GRANTED', version: 1, agentIds: [s.granted], value: s.value },
    ]);
    const events = await ctx.app.db.auditEvent.findMany({
      where: { workspaceId: s.wid, action: 'secret.fetched_by_gateway' },
    });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ actorKind: 'gateway', actorId: s.gateway.id, targetId: s.secret.id });
    expect(JSON.stringify(events[0]?.metadata)).not.toContain(s.value);

    // An agent without grants, or none: nothing, and nothing audited.
    expect(
      await valuesForGateway(s.deps, {
        workspaceId: s.wid,
        gatewayId: s.gateway.id,
        agentIds: [s.ungranted],
      }),
    ).toEqual([]);
    expect(
      await valuesForGateway(s.deps, { workspaceId: s.wid, gatewayId: s.gateway.id, agentIds: [] }),
    ).toEqual([]);
    // An agent of another workspace, even one with grants there: nothing.
    expect(
      await valuesForGateway(s.deps, {
        workspaceId: s.wid,
        gatewayId: s.gateway.id,
        agentIds: [s.foreignAgent],
      }),
    ).toEqual([]);
    expect(
      await ctx.app.db.auditEvent.count({
        where: { workspaceId: s.wid, action: 'secret.fetched_by_gateway' },
      }),
    ).toBe(1);
  });

  it('refuses a gateway of another workspace', async () => {
    const s = await setup();
    await refusal(
      valuesForGateway(s.deps, { workspaceId: s.other, gatewayId: s.gateway.id, agentIds: [s.foreignAgent] }),
    );
  });

  it('refuses a revoked gateway', async () => {
    const s = await setup();
    await ctx.app.db.gateway.update({ where: { id: s.gateway.id }, data: { revokedAt: new Date() } });
    await refusal(
      valuesForGateway(s.deps, { workspaceId: s.wid, gatewayId: s.gateway.id, agentIds: [s.granted] }),
    );
  });

  it('refuses a gateway whose owner is no longer a member', async () => {
    const s = await setup();
    // Control: it works while they are a member.
    expect(
      await valuesForGateway(s.deps, { workspaceId: s.wid, gatewayId: s.gateway.id, agentIds: [s.granted] }),
    ).toHaveLength(1);
    await ctx.app.db.membership.delete({
      where: { workspaceId_userId: { workspaceId: s.wid, userId: s.uses.id } },
    });
    await refusal(
      valuesForGateway(s.deps, { workspaceId: s.wid, gatewayId: s.gateway.id, agentIds: [s.granted] }),
    );
  });

  it('refuses an unknown gateway', async () => {
    const s = await setup();
    await refusal(
      valuesForGateway(s.deps, {
        workspaceId: s.wid,
        gatewayId: '00000000-0000-4000-8000-000000000000',
        agentIds: [s.granted],
      }),
    );
  });
});

describe('no plaintext at rest or in the logs', () => {
  it('a full create/reveal/update/delete cycle logs no value', async () => {
    const wid = await workspace([owner]);
    const first = plaintext();
    const second = plaintext();
    const logStart = ctx.logs.raw.length;
    const secret = await createSecret(wid, { name: secretName(), value: first, description: 'cycle' });
    const revealed = await reveal(wid, secret.id);
    expect(revealed.json()).toEqual({ value: first });
    const updated = await send({
      method: 'PUT',
      url: `/v1/workspaces/${wid}/secrets/${secret.id}`,
      token: owner.token,
      payload: { value: second },
    });
    expect(updated.statusCode).toBe(200);
    expect((await reveal(wid, secret.id)).json()).toEqual({ value: second });
    // A refused request carrying a value, and a failing one, are logged too.
    await send({
      method: 'POST',
      url: `/v1/workspaces/${wid}/secrets`,
      token: member.token,
      payload: { name: 'X', value: first },
    });
    await send({
      method: 'POST',
      url: `/v1/workspaces/${wid}/secrets`,
      token: owner.token,
      payload: { name: '1bad', value: second },
    });
    const deleted = await send({
      method: 'DELETE',
      url: `/v1/workspaces/${wid}/secrets/${secret.id}`,
      token: owner.token,
    });
    expect(deleted.statusCode).toBe(204);

    const log = ctx.logs.raw.slice(logStart).join('');
    // Control: the cycle was logged (each request id appears).
    expect(log).toContain(revealed.headers['x-request-id'] as string);
    expect(log).toContain(`/v1/workspaces/${wid}/secrets`);
    expect(log).not.toContain(first);
    expect(log).not.toContain(second);
  });

  it('audit rows never carry a value', async () => {
    const wid = await workspace([owner]);
    const value = plaintext();
    const next = plaintext();
    const secret = await createSecret(wid, { name: secretName(), value });
    await reveal(wid, secret.id);
    await send({
      method: 'PUT',
      url: `/v1/workspaces/${wid}/secrets/${secret.id}`,
      token: owner.token,
      payload: { value: next },
    });
    await reveal(wid, secret.id);
    await send({ method: 'DELETE', url: `/v1/workspaces/${wid}/secrets/${secret.id}`, token: owner.token });
    const rows = await ctx.app.db.auditEvent.findMany({ where: { workspaceId: wid } });
    expect(rows.map((row) => row.action)).toContain('secret.revealed');
    const text = JSON.stringify(rows, (_key, v) => (typeof v === 'bigint' ? v.toString() : v));
    expect(text).toContain(secret.id);
    expect(text).not.toContain(value);
    expect(text).not.toContain(next);
  });

  it('a database dump after creating secrets contains no plaintext value', async () => {
    const wid = await workspace([owner]);
    const values = [plaintext(), plaintext(), plaintext()];
    const names = [secretName(), secretName(), secretName()];
    const secrets = [];
    for (const [index, value] of values.entries()) {
      secrets.push(await createSecret(wid, { name: names[index], value }));
    }
    // A superseded value too (secret_versions).
    const superseded = values[0] as string;
    const latest = plaintext();
    await send({
      method: 'PUT',
      url: `/v1/workspaces/${wid}/secrets/${secrets[0]?.id}`,
      token: owner.token,
      payload: { value: latest },
    });
    const stdout = await dumpDatabase(ctx.databaseUrl);
    // Control: the dump has the rows (their names are not secret).
    for (const name of names) expect(stdout).toContain(name);
    expect(stdout).toContain('secret_versions');
    for (const value of [...values, superseded, latest]) {
      expect(stdout).not.toContain(value);
      // bytea columns dump as hex: the raw UTF-8 bytes must not be there either.
      expect(stdout).not.toContain(Buffer.from(value, 'utf8').toString('hex'));
      expect(stdout).not.toContain(Buffer.from(value, 'utf8').toString('base64'));
    }
  });

  it('the OpenAPI document has the vault routes and no examples on them', async () => {
    const response = await ctx.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(response.statusCode).toBe(200);
    const doc = response.json() as { paths: Record<string, unknown> };
    const vaultPaths = Object.keys(doc.paths).filter((path) => path.includes('/secrets'));
    expect(vaultPaths.length).toBeGreaterThanOrEqual(3);
    for (const path of vaultPaths) expect(JSON.stringify(doc.paths[path])).not.toMatch(/"examples?"/);
  });
});

/**
 * A full text dump of the database: `pg_dump` when the installed client can
 * dump this server, else every row of every table as text through SQL (the
 * embedded PostgreSQL ships no pg_dump). Both render bytea as hex.
 */
async function dumpDatabase(databaseUrl: string): Promise<string> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ major: number }>(
      "SELECT current_setting('server_version_num')::int / 10000 AS major",
    );
    const serverMajor = rows[0]?.major ?? Number.POSITIVE_INFINITY;
    const clientMajor = await promisify(execFile)('pg_dump', ['--version']).then(
      ({ stdout }) => Number(/(\d+)\./.exec(stdout)?.[1] ?? 0),
      () => 0,
    );
    if (clientMajor >= serverMajor) {
      const { stdout } = await promisify(execFile)('pg_dump', ['--no-owner', '--dbname', databaseUrl], {
        maxBuffer: 256 * 1024 * 1024,
      });
      return stdout;
    }
    const tables = await client.query<{ name: string }>(
      "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
    );
    const parts: string[] = [];
    for (const { name } of tables.rows) {
      const dump = await client.query<{ row: string }>(`SELECT t::text AS row FROM "${name}" t`);
      parts.push(`-- ${name}`, ...dump.rows.map((r) => r.row));
    }
    return parts.join('\n');
  } finally {
    await client.end();
  }
}

describe('VAULT_KEEP_VERSIONS', () => {
  it('decides how many superseded values the API keeps', async () => {
    const app = await createTestApp({ env: { VAULT_KEEP_VERSIONS: '2', AUTH_RATE_LIMIT_MAX: '10000' } });
    try {
      const email = `keep-${randomBytes(4).toString('hex')}@example.com`;
      const password = 'vault keep versions passphrase';
      await app.app.inject({ method: 'POST', url: '/v1/auth/register', payload: { email, password } });
      const login = await app.app.inject({
        method: 'POST',
        url: '/v1/auth/login',
        payload: { email, password },
      });
      const auth = { authorization: `Bearer ${login.json().accessToken}` };
      const ws = await app.app.inject({
        method: 'POST',
        url: '/v1/workspaces',
        headers: auth,
        payload: { name: 'keep' },
      });
      const wid = ws.json().id;
      const created = await app.app.inject({
        method: 'POST',
        url: `/v1/workspaces/${wid}/secrets`,
        headers: auth,
        payload: { name: 'KEEP', value: 'v1' },
      });
      expect(created.statusCode, created.body).toBe(201);
      for (const value of ['v2', 'v3', 'v4']) {
        const put = await app.app.inject({
          method: 'PUT',
          url: `/v1/workspaces/${wid}/secrets/${created.json().id}`,
          headers: auth,
          payload: { value },
        });
        expect(put.statusCode, put.body).toBe(200);
      }
      const kept = await app.app.db.secretVersion.findMany({
        where: { secretId: created.json().id },
        orderBy: { version: 'asc' },
      });
      expect(kept.map((row) => row.version)).toEqual([2, 3]);
    } finally {
      await app.close();
    }
  });
});
