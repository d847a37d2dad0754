import type { Database } from '../../db/client.js';
import type { Role } from '../workspaces/permissions.js';

/** A person's workspaces and their role in each. */
export type Roles = Map<string, Role>;

/**
 * What the real-time hub asks the database: whose workspaces, and which
 * sessions still live. Requests made in the same turn of the event loop go
 * out as one query (a thousand desktops reconnecting after a restart cost a
 * handful of queries, not a thousand).
 */
export function createMembershipReader(deps: {
  db: Pick<Database, 'membership' | 'session'>;
  now: () => Date;
}) {
  const { db, now } = deps;

  const roles = batched(async (userIds: string[]) => {
    const rows = await db.membership.findMany({
      where: { userId: { in: userIds } },
      select: { userId: true, workspaceId: true, role: true },
    });
    const byUser = new Map<string, Roles>(userIds.map((id) => [id, new Map()]));
    for (const row of rows) byUser.get(row.userId)?.set(row.workspaceId, row.role);
    return byUser;
  });

  return {
    /** The user's workspaces and roles, as committed now. */
    rolesOf: (userId: string): Promise<Roles> => roles.load(userId).then((found) => found ?? new Map()),

    /** Which of these sessions are still live (not revoked, not expired). */
    async liveSessions(sessionIds: string[]): Promise<Set<string>> {
      if (sessionIds.length === 0) return new Set();
      const at = now();
      const rows = await db.session.findMany({
        where: {
          id: { in: sessionIds },
          revokedAt: null,
          idleExpiresAt: { gt: at },
          absoluteExpiresAt: { gt: at },
        },
        select: { id: true },
      });
      return new Set(rows.map((row) => row.id));
    },
  };
}

export type MembershipReader = ReturnType<typeof createMembershipReader>;

/** The most keys one query carries; a larger batch goes out in several. */
const MAX_BATCH = 1_000;

/** Collects the keys asked for in one turn of the event loop and fetches them together. */
function batched<V>(fetch: (keys: string[]) => Promise<Map<string, V>>) {
  let pending:
    | Map<string, Array<{ resolve(value: V | undefined): void; reject(error: unknown): void }>>
    | undefined;

  function flush(batch: NonNullable<typeof pending>) {
    fetch([...batch.keys()]).then(
      (found) => {
        for (const [key, waiters] of batch) for (const waiter of waiters) waiter.resolve(found.get(key));
      },
      (error: unknown) => {
        for (const waiters of batch.values()) for (const waiter of waiters) waiter.reject(error);
      },
    );
  }

  return {
    load(key: string): Promise<V | undefined> {
      if (!pending) {
        const batch = new Map();
        pending = batch;
        setImmediate(() => {
          if (pending !== batch) return; // already sent, full
          pending = undefined;
          flush(batch);
        });
      }
      const batch = pending;
      const promise = new Promise<V | undefined>((resolve, reject) => {
        const waiters = batch.get(key) ?? [];
        waiters.push({ resolve, reject });
        batch.set(key, waiters);
      });
      if (batch.size >= MAX_BATCH) {
        pending = undefined;
        flush(batch);
      }
      return promise;
    },
  };
}
