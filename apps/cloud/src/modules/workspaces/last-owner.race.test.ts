import { randomBytes } from 'node:crypto';
import { LoginResponse } from '@multiclaw/protocol';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestUser, testActors } from '../../../test/support/actors.js';
import { createTestApp } from '../../../test/support/app.js';

/**
 * The last-owner rule under real concurrency: two requests that each remove
 * an owner (demote, remove, leave, transfer, delete account) are fired
 * together, many times, against real Postgres. Whatever the interleaving, a
 * workspace that still has members keeps at least one owner, and no request
 * fails with a 5xx.
 */

const PAIRS = 50;
const PASSWORD = 'last owner race passphrase 1';
let ctx: Awaited<ReturnType<typeof createTestApp>>;
/** One argon2 hash of PASSWORD, shared by every user created here (hashing per user would dominate the run). */
let passwordHash: string;

type User = TestUser;

beforeAll(async () => {
  ctx = await createTestApp({ env: { AUTH_RATE_LIMIT_MAX: '100000' } });
  const email = `seed-${randomBytes(4).toString('hex')}@example.com`;
  const registered = await ctx.app.inject({
    method: 'POST',
    url: '/v1/auth/register',
    payload: { email, password: PASSWORD },
  });
  expect(registered.statusCode, registered.body).toBe(201);
  const credential = await ctx.app.db.passwordCredential.findUniqueOrThrow({
    where: { userId: registered.json().user.id },
  });
  passwordHash = credential.hash;
});
afterAll(async () => {
  await ctx?.close();
});

async function user(): Promise<User> {
  const email = `race-${randomBytes(6).toString('hex')}@example.com`;
  await ctx.app.db.user.create({
    data: { email, password: { create: { hash: passwordHash } } },
  });
  const login = await ctx.app.inject({
    method: 'POST',
    url: '/v1/auth/login',
    payload: { email, password: PASSWORD },
  });
  expect(login.statusCode, login.body).toBe(200);
  const body = LoginResponse.parse(login.json());
  return { id: body.user.id, token: body.accessToken };
}

const { send, workspace } = testActors(() => ctx, {
  address: '203.0.113.60',
  userAgent: 'last-owner-race/1.0',
  password: PASSWORD,
});

function as(who: User, options: InjectOptions): Promise<LightMyRequestResponse> {
  return send({ ...options, token: who.token });
}

const demote = (actor: User, wid: string, target: User) =>
  as(actor, {
    method: 'PATCH',
    url: `/v1/workspaces/${wid}/members/${target.id}`,
    payload: { role: 'member' },
  });
const removeMember = (actor: User, wid: string, target: User) =>
  as(actor, { method: 'DELETE', url: `/v1/workspaces/${wid}/members/${target.id}` });
const leave = (actor: User, wid: string) => removeMember(actor, wid, actor);
const transfer = (actor: User, wid: string, heir: User) =>
  as(actor, {
    method: 'PATCH',
    url: `/v1/workspaces/${wid}/members/${heir.id}`,
    payload: { role: 'owner', transfer: true },
  });
const deleteAccount = (actor: User) =>
  as(actor, { method: 'DELETE', url: '/v1/me', payload: { password: PASSWORD } });

/** One race: its workspace and the two requests to fire at once. */
type Race = { wid: string; run: () => Promise<LightMyRequestResponse>[] };

/**
 * Fires `PAIRS` races built by `prepare` (set up in parallel, raced one pair
 * at a time) and returns what went wrong: a workspace left with members and
 * no owner, or a 5xx answer.
 */
async function race(prepare: () => Promise<Race>): Promise<string[]> {
  const races = await Promise.all(Array.from({ length: PAIRS }, prepare));
  const problems: string[] = [];
  for (const [index, { wid, run }] of races.entries()) {
    const answers = await Promise.all(run());
    for (const answer of answers) {
      if (answer.statusCode >= 500) problems.push(`pair ${index}: ${answer.statusCode} ${answer.body}`);
    }
    const [members, owners] = await Promise.all([
      ctx.app.db.membership.count({ where: { workspaceId: wid } }),
      ctx.app.db.membership.count({ where: { workspaceId: wid, role: 'owner' } }),
    ]);
    if (members > 0 && owners === 0) {
      problems.push(
        `pair ${index}: ${members} member(s), no owner (answers ${answers.map((a) => a.statusCode)})`,
      );
    }
  }
  return problems;
}

describe('the last-owner rule under concurrency', () => {
  // Owners A and B and a member M, unless said otherwise; each pair removes both owners if unchecked.
  const pair = async () => {
    const [a, b, m] = await Promise.all([user(), user(), user()]);
    return { a, b, m, wid: await workspace([a, b], [m]) };
  };

  it('demote × demote', { timeout: 300_000 }, async () => {
    expect(
      await race(async () => {
        const { a, b, wid } = await pair();
        return { wid, run: () => [demote(a, wid, b), demote(b, wid, a)] };
      }),
    ).toEqual([]);
  });

  it('remove × remove', { timeout: 300_000 }, async () => {
    expect(
      await race(async () => {
        const { a, b, wid } = await pair();
        return { wid, run: () => [removeMember(a, wid, b), removeMember(b, wid, a)] };
      }),
    ).toEqual([]);
  });

  it('leave × leave', { timeout: 300_000 }, async () => {
    expect(
      await race(async () => {
        const { a, b, wid } = await pair();
        return { wid, run: () => [leave(a, wid), leave(b, wid)] };
      }),
    ).toEqual([]);
  });

  it('delete account × delete account', { timeout: 300_000 }, async () => {
    expect(
      await race(async () => {
        const { a, b, wid } = await pair();
        return { wid, run: () => [deleteAccount(a), deleteAccount(b)] };
      }),
    ).toEqual([]);
  });

  it('delete account × leave', { timeout: 300_000 }, async () => {
    expect(
      await race(async () => {
        const { a, b, wid } = await pair();
        return { wid, run: () => [deleteAccount(a), leave(b, wid)] };
      }),
    ).toEqual([]);
  });

  it('delete account × demote (the other owner steps down)', { timeout: 300_000 }, async () => {
    expect(
      await race(async () => {
        const { a, b, wid } = await pair();
        return { wid, run: () => [deleteAccount(a), demote(b, wid, b)] };
      }),
    ).toEqual([]);
  });

  it('transfer × delete account (the heir deletes their account)', { timeout: 300_000 }, async () => {
    // A is the only owner and hands the workspace to member H while H deletes their account.
    expect(
      await race(async () => {
        const [a, h, m] = await Promise.all([user(), user(), user()]);
        const wid = await workspace([a], [h, m]);
        return { wid, run: () => [transfer(a, wid, h), deleteAccount(h)] };
      }),
    ).toEqual([]);
  });

  it('transfer × leave (the heir leaves)', { timeout: 300_000 }, async () => {
    expect(
      await race(async () => {
        const [a, h, m] = await Promise.all([user(), user(), user()]);
        const wid = await workspace([a], [h, m]);
        return { wid, run: () => [transfer(a, wid, h), leave(h, wid)] };
      }),
    ).toEqual([]);
  });

  it('delete account × delete account, owners of two workspaces together', { timeout: 300_000 }, async () => {
    // Each deletion locks both workspaces; in id order, so the two never deadlock (a deadlock would be a 500).
    const [first, second] = [[] as string[], [] as string[]];
    const problems = await race(async () => {
      const { a, b, m, wid } = await pair();
      second.push(await workspace([b, a], [m]));
      first.push(wid);
      return { wid, run: () => [deleteAccount(a), deleteAccount(b)] };
    });
    const orphaned = await ctx.app.db.workspace.count({
      where: {
        id: { in: [...first, ...second] },
        memberships: { some: {} },
        NOT: { memberships: { some: { role: 'owner' } } },
      },
    });
    expect({ problems, orphaned }).toEqual({ problems: [], orphaned: 0 });
  });

  it('accept × delete account (the invitee accepts an owner invitation while deleting their account)', {
    timeout: 300_000,
  }, async () => {
    // Lock order is the same on both sides (account, then workspace): no deadlock, no 5xx, A stays owner.
    expect(
      await race(async () => {
        const [a, x, m] = await Promise.all([user(), user(), user()]);
        const wid = await workspace([a], [m]);
        const { email } = await ctx.app.db.user.findUniqueOrThrow({ where: { id: x.id } });
        const invited = await as(a, {
          method: 'POST',
          url: `/v1/workspaces/${wid}/invitations`,
          payload: { email, role: 'owner' },
        });
        expect(invited.statusCode, invited.body).toBe(201);
        const { token } = invited.json() as { token: string };
        return {
          wid,
          run: () => [
            as(x, { method: 'POST', url: '/v1/invitations/accept', payload: { token } }),
            deleteAccount(x),
          ],
        };
      }),
    ).toEqual([]);
  });

  it('transfer × demote (the other owner steps down)', { timeout: 300_000 }, async () => {
    // Owners A and B, member H: A hands over to H (and becomes a member) while B steps down.
    expect(
      await race(async () => {
        const { a, b, m, wid } = await pair();
        return { wid, run: () => [transfer(a, wid, m), demote(b, wid, b)] };
      }),
    ).toEqual([]);
  });
});
