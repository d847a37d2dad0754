import { randomBytes } from 'node:crypto';
import { AuditLogEntry, ErrorEnvelope, LoginResponse, Page } from '@multiclaw/protocol';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp } from '../../../test/support/app.js';
import { createAuditRecorder } from './recorder.js';

const PASSWORD = 'correct horse battery staple 7';
const T0 = Date.parse('2026-11-24T12:00:00.000Z');
const minute = (n: number) => new Date(T0 + n * 60_000);
const clock = minute(0);
/** The recorder's own clock, so entry times are chosen while the app's (and its tokens') clock stays put. */
let auditClock = minute(0);

let ctx: Awaited<ReturnType<typeof createTestApp>>;
const people: Record<'owner' | 'member' | 'outsider' | 'ownerB', { id: string; token: string }> = {} as never;
let wsA = '';
let wsB = '';
const ACTIONS = ['member.added', 'agent.created', 'member.role_changed'] as const;

async function signIn() {
  const email = `audit-${randomBytes(5).toString('hex')}@example.com`;
  const registered = await ctx.app.inject({
    method: 'POST',
    url: '/v1/auth/register',
    payload: { email, password: PASSWORD },
  });
  expect(registered.statusCode, registered.body).toBe(201);
  const login = await ctx.app.inject({
    method: 'POST',
    url: '/v1/auth/login',
    payload: { email, password: PASSWORD },
  });
  expect(login.statusCode, login.body).toBe(200);
  const body = LoginResponse.parse(login.json());
  return { id: body.user.id, token: body.accessToken };
}

beforeAll(async () => {
  ctx = await createTestApp({
    now: () => clock,
    env: { AUTH_RATE_LIMIT_MAX: '10000' },
  });
  people.owner = await signIn();
  people.member = await signIn();
  people.outsider = await signIn();
  people.ownerB = await signIn();
  const db = ctx.app.db;
  wsA = (
    await db.workspace.create({
      data: {
        name: 'A',
        memberships: {
          create: [
            { userId: people.owner.id, role: 'owner' },
            { userId: people.member.id, role: 'member' },
          ],
        },
      },
    })
  ).id;
  wsB = (
    await db.workspace.create({
      data: { name: 'B', memberships: { create: [{ userId: people.ownerB.id, role: 'owner' }] } },
    })
  ).id;
  const audit = createAuditRecorder({ db, now: () => auditClock });
  // A: 25 entries, one a minute (minute 0..24), seq = i + 1; B: 5 interleaved entries.
  for (let i = 0; i < 25; i += 1) {
    auditClock = minute(i);
    await audit.record({
      action: ACTIONS[i % 3] as string,
      actorId: i % 2 === 0 ? people.owner.id : people.member.id,
      workspaceId: wsA,
      targetType: 'user',
      targetId: people.member.id,
      metadata: { i },
      ip: '203.0.113.9',
      userAgent: 'audit-routes-test',
    });
    if (i % 5 === 0) {
      await audit.record({
        action: 'member.added',
        actorId: people.ownerB.id,
        workspaceId: wsB,
        metadata: { b: i },
      });
    }
  }
  auditClock = minute(30);
  // A look-alike the prefix filter must not treat as a LIKE pattern (`_` is a wildcard there).
  await audit.record({
    action: 'axb.created',
    actorId: people.owner.id,
    workspaceId: wsA,
    metadata: { i: 25 },
  });
  await audit.record({
    action: 'a_b.created',
    actorId: people.ownerB.id,
    workspaceId: wsB,
    metadata: { b: 99 },
  });
  // Account-level entries of A's owner (sign-ins above) must never appear in A's log.
  // The owners' first requests to their workspaces are recorded in its chain
  // (auth.session.workspace_access): make them now, so A ends at seq 27, B at 7.
  await get(`/v1/workspaces/${wsA}/audit?limit=1`, 'owner');
  await get(`/v1/workspaces/${wsB}/audit?limit=1`, 'ownerB');
});
afterAll(async () => {
  await ctx?.close();
});

async function get(url: string, who?: keyof typeof people) {
  const options: InjectOptions = { method: 'GET', url };
  if (who) options.headers = { authorization: `Bearer ${people[who].token}` };
  return ctx.app.inject(options);
}

const AuditPage = Page(AuditLogEntry);

async function list(query: string, who: keyof typeof people = 'owner', ws = wsA) {
  const response = await get(`/v1/workspaces/${ws}/audit${query ? `?${query}` : ''}`, who);
  expect(response.statusCode, response.body).toBe(200);
  return AuditPage.parse(response.json());
}

/** Follows nextCursor to the end; returns every page's seqs. */
async function walk(query: string, ws = wsA) {
  const pages: number[][] = [];
  let cursor: string | null = null;
  do {
    const page = await list(`${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, 'owner', ws);
    pages.push(page.items.map((item) => item.seq));
    cursor = page.nextCursor;
    expect(pages.length).toBeLessThan(50);
  } while (cursor);
  return pages;
}

describe('GET /v1/workspaces/:wid/audit', () => {
  it('lists the workspace’s entries newest first, with the chain fields', async () => {
    const page = await list('limit=100');
    expect(page.items.map((item) => item.seq)).toEqual(Array.from({ length: 27 }, (_, i) => 27 - i));
    expect(page.nextCursor).toBeNull();
    expect(page.items[0]).toMatchObject({
      action: 'auth.session.workspace_access',
      actorId: people.owner.id,
    });
    const first = page.items.at(-1);
    expect(first).toMatchObject({
      seq: 1,
      action: 'member.added',
      actorKind: 'user',
      actorId: people.owner.id,
      targetType: 'user',
      targetId: people.member.id,
      metadata: { i: 0 },
      ip: '203.0.113.9',
      userAgent: 'audit-routes-test',
      createdAt: minute(0).toISOString(),
      prevHash: null,
    });
    expect(page.items.at(-2)?.prevHash).toBe(first?.hash);
  });

  it('paginates with an opaque cursor, without duplicates or gaps', async () => {
    const pages = await walk('limit=7');
    expect(pages.map((p) => p.length)).toEqual([7, 7, 7, 6]);
    expect(pages.flat()).toEqual(Array.from({ length: 27 }, (_, i) => 27 - i));
    const bad = await get(`/v1/workspaces/${wsA}/audit?cursor=garbage`, 'owner');
    expect(bad.statusCode).toBe(400);
    expect(ErrorEnvelope.parse(bad.json()).error.code).toBe('VALIDATION_FAILED');
  });

  it('filters by time range: from inclusive, to exclusive', async () => {
    const page = await list(`from=${minute(5).toISOString()}&to=${minute(10).toISOString()}`);
    expect(page.items.map((item) => item.seq)).toEqual([10, 9, 8, 7, 6]);
    expect((await list(`from=${minute(24).toISOString()}`)).items.map((i) => i.seq)).toEqual([26, 25]);
    const reversed = await get(
      `/v1/workspaces/${wsA}/audit?from=${minute(10).toISOString()}&to=${minute(5).toISOString()}`,
      'owner',
    );
    expect(reversed.statusCode).toBe(400);
  });

  it('filters by actor', async () => {
    const page = await list(`actor=${people.member.id}&limit=100`);
    expect(page.items.map((item) => item.seq)).toEqual([24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2]);
    expect(page.items.every((item) => item.actorId === people.member.id)).toBe(true);
  });

  it('filters by action: exact, or a prefix ending in "."', async () => {
    const exact = await list('action=member.added&limit=100');
    expect(exact.items.map((item) => item.seq)).toEqual([25, 22, 19, 16, 13, 10, 7, 4, 1]);
    const prefix = await list('action=member.&limit=100');
    expect(prefix.items).toHaveLength(17);
    expect(prefix.items.every((item) => item.action.startsWith('member.'))).toBe(true);
    expect((await list('action=member')).items).toEqual([]);
    expect((await list('action=a_b.')).items).toEqual([]);
    expect((await list('action=axb.')).items.map((item) => item.seq)).toEqual([26]);
    const underscored = await list('action=a_b.', 'ownerB', wsB);
    expect(underscored.items.map((item) => item.action)).toEqual(['a_b.created']);
    expect(
      (await get(`/v1/workspaces/${wsA}/audit?action=${encodeURIComponent('%')}`, 'owner')).statusCode,
    ).toBe(400);
  });

  it('combines filters with pagination', async () => {
    const pages = await walk(
      `action=member.&actor=${people.owner.id}&from=${minute(3).toISOString()}&limit=2`,
    );
    const expected = [24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4]
      .map((i) => i + 1)
      .filter((seq) => (seq - 1) % 3 !== 1 && (seq - 1) % 2 === 0);
    expect(pages.flat()).toEqual(expected);
  });

  it('never shows another workspace’s entries, or account-level ones', async () => {
    const all = await list('limit=100');
    const accountIds = (
      await ctx.app.db.auditEvent.findMany({ where: { workspaceId: null }, select: { id: true } })
    ).map((row) => row.id);
    expect(all.items.filter((item) => accountIds.includes(item.id))).toEqual([]);
    expect(all.items.some((item) => item.actorId === people.ownerB.id)).toBe(false);
    const accountLevel = await ctx.app.db.auditEvent.count({
      where: { actorId: people.owner.id, workspaceId: null },
    });
    expect(accountLevel).toBeGreaterThan(0);
    const b = await list('limit=100', 'ownerB', wsB);
    expect(b.items.map((item) => item.metadata)).toEqual([
      null,
      { b: 99 },
      { b: 20 },
      { b: 15 },
      { b: 10 },
      { b: 5 },
      { b: 0 },
    ]);
    // A cursor from A's log does not reach into A's entries through B.
    const cursor = (await list('limit=1')).nextCursor ?? '';
    const viaB = await list(`cursor=${encodeURIComponent(cursor)}&limit=100`, 'ownerB', wsB);
    expect(viaB.items.every((item) => item.actorId === people.ownerB.id)).toBe(true);
  });

  it('is for owners only: member 403, non-member and other workspace’s owner 404, anonymous 401', async () => {
    const code = async (who: keyof typeof people | undefined, ws = wsA) => {
      const response = await get(`/v1/workspaces/${ws}/audit`, who);
      return [response.statusCode, ErrorEnvelope.parse(response.json()).error.code];
    };
    expect(await code('member')).toEqual([403, 'FORBIDDEN']);
    expect(await code('outsider')).toEqual([404, 'NOT_FOUND']);
    expect(await code('ownerB')).toEqual([404, 'NOT_FOUND']);
    expect(await code(undefined)).toEqual([401, 'UNAUTHENTICATED']);
    expect(await code('owner', '00000000-0000-4000-8000-000000000000')).toEqual([404, 'NOT_FOUND']);
  });

  it('offers no way to change or delete an entry', async () => {
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE'] as const) {
      const response = await ctx.app.inject({
        method,
        url: `/v1/workspaces/${wsA}/audit`,
        headers: { authorization: `Bearer ${people.owner.token}` },
      });
      expect([404, 405]).toContain(response.statusCode);
    }
    expect(await ctx.app.db.auditEvent.count({ where: { workspaceId: wsA } })).toBe(27);
  });
});

describe('the `type` filter (DESIGN.md §4 name)', () => {
  it('is another name for `action`', async () => {
    const byType = await list('type=member.added&limit=100');
    const byAction = await list('action=member.added&limit=100');
    expect(byType.items.map((i) => i.seq)).toEqual(byAction.items.map((i) => i.seq));
    expect(byType.items.length).toBeGreaterThan(0);
    const conflicting = await get(
      `/v1/workspaces/${wsA}/audit?type=member.added&action=agent.created`,
      'owner',
    );
    expect(conflicting.statusCode).toBe(400);
  });
});
