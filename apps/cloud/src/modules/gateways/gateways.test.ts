import { createHash, createPublicKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import { EnrollGatewayResponse, ErrorEnvelope, Gateway, GatewayEnrollment, Page } from '@multiclaw/protocol';
import { manualClock } from '@multiclaw/test-support/clock';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestUser, testActors } from '../../../test/support/actors.js';
import { createTestApp } from '../../../test/support/app.js';

const PASSWORD = 'gateway enrollment passphrase 5';
const clock = manualClock('2026-11-30T12:00:00Z');
const now = clock.now;

let ctx: Awaited<ReturnType<typeof createTestApp>>;

beforeAll(async () => {
  ctx = await createTestApp({ now, env: { AUTH_RATE_LIMIT_MAX: '10000' } });
});
afterAll(async () => {
  await ctx?.close();
});

const { send, signUp, workspace } = testActors(() => ctx, {
  address: '203.0.113.41',
  userAgent: 'gateways-test/1.0',
  password: PASSWORD,
});

/** A fresh owner and member sharing a fresh workspace (fresh tokens, on the current clock). */
async function team() {
  const [owner, member] = await Promise.all([signUp(), signUp()]);
  const wid = await workspace([owner], [member]);
  return { owner, member, wid };
}

/** A gateway's key pair, as `multiclaw-gateway link` makes one: the public half in raw base64url. */
function publicKey(): string {
  const { publicKey: key } = generateKeyPairSync('ed25519');
  const x = key.export({ format: 'jwk' }).x;
  if (!x) throw new Error('no x');
  return x;
}

async function newCode(wid: string, user: TestUser, body: Record<string, unknown> = {}) {
  const response = await send({
    method: 'POST',
    url: `/v1/workspaces/${wid}/gateway-enrollments`,
    token: user.token,
    payload: body,
  });
  expect(response.statusCode, response.body).toBe(201);
  return GatewayEnrollment.parse(response.json());
}

const enroll = (code: string, key = publicKey(), name?: string) =>
  send({
    method: 'POST',
    url: '/v1/gateways/enroll',
    payload: { code, publicKey: key, ...(name ? { name } : {}) },
  });

async function enrolled(wid: string, user: TestUser, name?: string) {
  const { code } = await newCode(wid, user);
  const response = await enroll(code, publicKey(), name);
  expect(response.statusCode, response.body).toBe(201);
  return EnrollGatewayResponse.parse(response.json()).gatewayId;
}

const list = (wid: string, user: TestUser, query = '') =>
  send({ method: 'GET', url: `/v1/workspaces/${wid}/gateways${query}`, token: user.token });
const revoke = (wid: string, gid: string, user: TestUser) =>
  send({ method: 'DELETE', url: `/v1/workspaces/${wid}/gateways/${gid}`, token: user.token });

const codeOf = (response: LightMyRequestResponse) => ErrorEnvelope.parse(response.json()).error.code;

/** What a client sees of a refusal, minus the request id that differs on every request. */
function refusal(response: LightMyRequestResponse) {
  const body = response.body.replace(/"requestId":"[^"]*"/, '"requestId":"…"');
  return { status: response.statusCode, contentType: response.headers['content-type'], body };
}

const auditActions = async (workspaceId: string, action: string) =>
  ctx.app.db.auditEvent.findMany({ where: { workspaceId, action } });

describe('enrollment codes', () => {
  it('gives a member a one-time code: 256 random bits, 10 minutes, stored only as its SHA-256', async () => {
    const { member, wid } = await team();
    const response = await send({
      method: 'POST',
      url: `/v1/workspaces/${wid}/gateway-enrollments`,
      token: member.token,
      payload: { name: 'laptop' },
    });
    expect(response.statusCode, response.body).toBe(201);
    expect(response.headers['cache-control']).toBe('no-store');
    const { code, expiresAt } = GatewayEnrollment.parse(response.json());
    expect(Buffer.from(code, 'base64url')).toHaveLength(32);
    expect(Date.parse(expiresAt) - clock.nowMs()).toBe(10 * 60 * 1000);

    const rows = await ctx.app.db.gatewayEnrollment.findMany({ where: { workspaceId: wid } });
    expect(rows).toHaveLength(1);
    expect(Buffer.from(rows[0]?.codeHash ?? [])).toEqual(createHash('sha256').update(code).digest());
    expect(rows[0]?.createdById).toBe(member.id);
    expect(JSON.stringify(rows)).not.toContain(code);
    const audited = await auditActions(wid, 'gateway.enrollment_created');
    expect(audited.map((e) => e.actorId)).toEqual([member.id]);
    expect(JSON.stringify(audited.map((e) => e.metadata))).not.toContain(code);
  });

  it('accepts a request with no body at all', async () => {
    const { owner, wid } = await team();
    const response = await send({
      method: 'POST',
      url: `/v1/workspaces/${wid}/gateway-enrollments`,
      token: owner.token,
    });
    expect(response.statusCode, response.body).toBe(201);
  });
});

describe('POST /v1/gateways/enroll', () => {
  it('trades a code and a public key for a gateway of the code creator, audited', async () => {
    const { member, wid } = await team();
    const { code } = await newCode(wid, member);
    const key = publicKey();
    const response = await enroll(code, key, 'work laptop');
    expect(response.statusCode, response.body).toBe(201);
    const { gatewayId, workspaceId } = EnrollGatewayResponse.parse(response.json());
    expect(workspaceId).toBe(wid);

    const gateway = await ctx.app.db.gateway.findUniqueOrThrow({ where: { id: gatewayId } });
    expect(gateway).toMatchObject({
      workspaceId: wid,
      ownerUserId: member.id,
      name: 'work laptop',
      revokedAt: null,
    });
    expect(Buffer.from(gateway.publicKey).toString('base64url')).toBe(key);
    const enrollment = await ctx.app.db.gatewayEnrollment.findFirstOrThrow({ where: { workspaceId: wid } });
    expect(enrollment.gatewayId).toBe(gatewayId);
    expect(enrollment.usedAt).not.toBeNull();
    const audited = await auditActions(wid, 'gateway.enrolled');
    expect(audited).toHaveLength(1);
    expect(audited[0]).toMatchObject({ actorKind: 'gateway', actorId: gatewayId, targetId: gatewayId });
    expect(audited[0]?.metadata).toMatchObject({ userId: member.id });
  });

  it("names the gateway after its code's name unless the enroll gives one", async () => {
    const { member, wid } = await team();
    const named = async (codeName: string | undefined, enrollName: string | undefined) => {
      const { code } = await newCode(wid, member, codeName ? { name: codeName } : {});
      const response = await enroll(code, publicKey(), enrollName);
      expect(response.statusCode, response.body).toBe(201);
      const { gatewayId } = EnrollGatewayResponse.parse(response.json());
      return (await ctx.app.db.gateway.findUniqueOrThrow({ where: { id: gatewayId } })).name;
    };
    expect(await named('desk', undefined)).toBe('desk');
    expect(await named('desk', 'laptop')).toBe('laptop');
    expect(await named(undefined, undefined)).toBeNull();
  });

  it('uses a code once: the second enroll is refused', async () => {
    const { member, wid } = await team();
    const { code } = await newCode(wid, member);
    expect((await enroll(code)).statusCode).toBe(201);
    const again = await enroll(code);
    expect(again.statusCode).toBe(400);
    expect(codeOf(again)).toBe('GATEWAY_ENROLLMENT_INVALID');
    expect(await ctx.app.db.gateway.count({ where: { workspaceId: wid } })).toBe(1);
  });

  it('refuses a wrong, a used, an expired code and one whose creator left, all in one identical answer', async () => {
    const { owner, member, wid } = await team();
    const used = (await newCode(wid, member)).code;
    expect((await enroll(used)).statusCode).toBe(201);
    const expiring = (await newCode(wid, member)).code;
    const ofRemoved = (await newCode(wid, member)).code;
    const removed = await send({
      method: 'DELETE',
      url: `/v1/workspaces/${wid}/members/${member.id}`,
      token: owner.token,
    });
    expect(removed.statusCode, removed.body).toBe(204);

    const answers = [await enroll('not-a-code-anyone-made'), await enroll(used), await enroll(ofRemoved)];
    clock.advanceMs(10 * 60 * 1000);
    answers.push(await enroll(expiring));

    expect(codeOf(answers[0] as LightMyRequestResponse)).toBe('GATEWAY_ENROLLMENT_INVALID');
    const [first, ...rest] = answers.map(refusal);
    for (const other of rest) expect(other).toEqual(first);
    expect(await ctx.app.db.gateway.count({ where: { workspaceId: wid } })).toBe(1);
  });

  it('enrolls at the last millisecond and refuses from the tenth minute on', async () => {
    const { member, wid } = await team();
    const early = (await newCode(wid, member)).code;
    const late = (await newCode(wid, member)).code;
    clock.advanceMs(10 * 60 * 1000 - 1);
    expect((await enroll(early)).statusCode).toBe(201);
    clock.advanceMs(1);
    const refused = await enroll(late);
    expect(refused.statusCode).toBe(400);
    expect(codeOf(refused)).toBe('GATEWAY_ENROLLMENT_INVALID');
  });

  it('gives exactly one gateway to concurrent enrolls with one code', async () => {
    const { member, wid } = await team();
    const { code } = await newCode(wid, member);
    const responses = await Promise.all(Array.from({ length: 6 }, () => enroll(code)));
    const statuses = responses.map((r) => r.statusCode).sort();
    expect(statuses).toEqual([201, 400, 400, 400, 400, 400]);
    expect(await ctx.app.db.gateway.count({ where: { workspaceId: wid } })).toBe(1);
    expect(await auditActions(wid, 'gateway.enrolled')).toHaveLength(1);
  });

  it('refuses a public key that is not a usable Ed25519 point, and keeps the code', async () => {
    const { member, wid } = await team();
    const { code } = await newCode(wid, member);
    // y = 2 has no x on the curve; OpenSSL still imports it, so the cloud must decode it itself.
    const offCurve = Buffer.alloc(32);
    offCurve[0] = 2;
    expect(() =>
      createPublicKey({
        key: { kty: 'OKP', crv: 'Ed25519', x: offCurve.toString('base64url') },
        format: 'jwk',
      }),
    ).not.toThrow();
    const identity = Buffer.alloc(32);
    identity[0] = 1; // (0, 1): signatures under it are forgeable by anyone
    const bad = [
      offCurve.toString('base64url'),
      identity.toString('base64url'),
      Buffer.alloc(31, 7).toString('base64url'),
      Buffer.alloc(33, 7).toString('base64url'),
      `${publicKey().slice(0, 42)}B`, // a second spelling of 32 bytes (non-zero padding bits)
      Buffer.from(publicKey(), 'base64url').toString('base64'), // padded standard base64
    ];
    for (const key of bad) {
      const response = await enroll(code, key);
      expect(response.statusCode, key).toBe(400);
      expect(codeOf(response)).toBe('VALIDATION_FAILED');
      expect(ErrorEnvelope.parse(response.json()).error.details?.issues?.[0]?.path).toBe('body.publicKey');
    }
    expect((await enroll(code)).statusCode).toBe(201);
  });
});

describe('GET /v1/workspaces/:wid/gateways', () => {
  it('shows a member their own gateways and an owner all of them, paged', async () => {
    const { owner, member, wid } = await team();
    const mine = await enrolled(wid, member, 'member box');
    const owners = await enrolled(wid, owner, 'owner box');

    const asMember = Page(Gateway).parse((await list(wid, member)).json());
    expect(asMember.items.map((g) => g.id)).toEqual([mine]);
    expect(asMember.items[0]).toMatchObject({
      name: 'member box',
      userId: member.id,
      online: false,
      lastSeenAt: null,
      revokedAt: null,
    });
    const asOwner = Page(Gateway).parse((await list(wid, owner)).json());
    expect(asOwner.items.map((g) => g.id).sort()).toEqual([mine, owners].sort());

    const first = Page(Gateway).parse((await list(wid, owner, '?limit=1')).json());
    expect(first.items).toHaveLength(1);
    expect(first.nextCursor).not.toBeNull();
    const second = Page(Gateway).parse(
      (await list(wid, owner, `?limit=1&cursor=${first.nextCursor}`)).json(),
    );
    expect(second.nextCursor).toBeNull();
    expect([...first.items, ...second.items].map((g) => g.id).sort()).toEqual([mine, owners].sort());
  });

  it("answers 404 for another workspace's gateways", async () => {
    const { owner, wid } = await team();
    const other = await team();
    await enrolled(other.wid, other.owner);
    const response = await list(other.wid, owner);
    expect(response.statusCode).toBe(404);
    expect(codeOf(response)).toBe('NOT_FOUND');
    expect((await list(wid, owner)).statusCode).toBe(200);
  });
});

describe('DELETE /v1/workspaces/:wid/gateways/:gid', () => {
  it("lets a member revoke their own gateway but not another person's", async () => {
    const { owner, member, wid } = await team();
    const mine = await enrolled(wid, member);
    const owners = await enrolled(wid, owner);

    const forbidden = await revoke(wid, owners, member);
    expect(forbidden.statusCode).toBe(403);
    expect(codeOf(forbidden)).toBe('FORBIDDEN');
    expect((await ctx.app.db.gateway.findUniqueOrThrow({ where: { id: owners } })).revokedAt).toBeNull();

    expect((await revoke(wid, mine, member)).statusCode).toBe(204);
    // Revoked stays listed, with the time it was revoked; the row is kept.
    const listed = Page(Gateway).parse((await list(wid, member)).json()).items;
    expect(listed.map((g) => [g.id, g.revokedAt])).toEqual([[mine, clock.now().toISOString()]]);
    expect(await auditActions(wid, 'gateway.revoked')).toHaveLength(1);
  });

  it('lets an owner revoke anyone’s gateway; revoking again answers the same and records nothing new', async () => {
    const { owner, member, wid } = await team();
    const gid = await enrolled(wid, member);
    expect((await revoke(wid, gid, owner)).statusCode).toBe(204);
    const again = await revoke(wid, gid, member);
    expect(again.statusCode).toBe(204);
    const audited = await auditActions(wid, 'gateway.revoked');
    expect(audited.map((e) => [e.actorId, e.targetId])).toEqual([[owner.id, gid]]);
    expect(await ctx.app.db.gateway.count({ where: { id: gid } })).toBe(1);
  });

  it('answers 404 for a gateway of another workspace or none at all, and leaves it alone', async () => {
    const { owner, wid } = await team();
    const other = await team();
    const foreign = await enrolled(other.wid, other.member);
    for (const gid of [foreign, randomUUID()]) {
      const response = await revoke(wid, gid, owner);
      expect(response.statusCode).toBe(404);
      expect(codeOf(response)).toBe('NOT_FOUND');
    }
    expect((await ctx.app.db.gateway.findUniqueOrThrow({ where: { id: foreign } })).revokedAt).toBeNull();
  });
});
