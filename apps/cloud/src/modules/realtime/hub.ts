import {
  OWNERS_ONLY_EVENT_KINDS,
  REALTIME_CLOSE,
  type RealtimeEvent,
  WS_PROTOCOL_VERSION,
} from '@multiclaw/protocol';
import type { BusMessage, EventBus } from '../../events/event-bus.js';
import type { BusLogger } from '../../events/listeners.js';
import type { MembershipReader, Roles } from './membership-reader.js';

/** A signed-in real-time socket, as the hub sees it. */
export type RealtimeClient = {
  readonly userId: string;
  readonly sessionId: string;
  send(frame: string): void;
  close(code: number, reason: string): void;
};

/** One person on this instance: their sockets, and their workspaces as last read. */
type Person = {
  readonly userId: string;
  readonly clients: Set<RealtimeClient>;
  roles: Roles;
  /** Bumped by every invalidation, so a read that started before one is done again. */
  epoch: number;
  loading: Promise<void> | undefined;
};

/**
 * This instance's real-time sockets and who may hear what. Each person's
 * workspaces are read once (batched) when their first socket signs in, then
 * kept current by the bus: `membership.ended` drops a workspace at once,
 * `member.changed` re-reads that person's roles, `session.ended` closes the
 * session's sockets. Because the bus can lose messages across a reconnect,
 * everything is re-read after one, and every `revalidateMs` regardless
 * (memberships that went with a deleted account, sessions that expired).
 */
export function createRealtimeHub(deps: {
  bus: Pick<EventBus, 'subscribe' | 'onReconnect'>;
  reader: MembershipReader;
  logger: BusLogger;
  revalidateMs: number;
}) {
  const { bus, reader, logger, revalidateMs } = deps;
  const people = new Map<string, Person>();
  /** workspace id → the people on this instance who belong to it. */
  const audiences = new Map<string, Set<Person>>();

  function setRoles(person: Person, roles: Roles) {
    for (const workspaceId of person.roles.keys()) {
      if (!roles.has(workspaceId)) leave(person, workspaceId);
    }
    for (const workspaceId of roles.keys()) {
      let audience = audiences.get(workspaceId);
      if (!audience) {
        audience = new Set();
        audiences.set(workspaceId, audience);
      }
      audience.add(person);
    }
    person.roles = roles;
  }

  function leave(person: Person, workspaceId: string) {
    person.roles.delete(workspaceId);
    const audience = audiences.get(workspaceId);
    audience?.delete(person);
    if (audience?.size === 0) audiences.delete(workspaceId);
  }

  /** Re-reads a person's roles; resolves once what was committed before the call is applied. */
  function refresh(person: Person): Promise<void> {
    person.epoch++;
    person.loading ??= (async () => {
      try {
        for (;;) {
          const epoch = person.epoch;
          const roles = await reader.rolesOf(person.userId);
          if (epoch !== person.epoch) continue;
          if (people.get(person.userId) === person) setRoles(person, roles);
          return;
        }
      } catch (error) {
        logger.warn({ err: error, userId: person.userId }, 'realtime: could not read memberships');
      } finally {
        person.loading = undefined;
      }
    })();
    return person.loading;
  }

  function deliver(event: RealtimeEvent) {
    const audience = audiences.get(event.workspaceId);
    if (audience) {
      let frame: string | undefined;
      // A person's own resource (a conversation): only they and the workspace's owners hear of it;
      // what only owners may read (pending invitations): only owners.
      const forOwners = OWNERS_ONLY_EVENT_KINDS.has(event.kind);
      for (const person of audience) {
        if (
          (forOwners || (event.userId && event.userId !== person.userId)) &&
          person.roles.get(event.workspaceId) !== 'owner'
        ) {
          continue;
        }
        // Encoded once for every socket; the event was parsed by the bus (RealtimeEvent) on its way in.
        frame ??= JSON.stringify({ v: WS_PROTOCOL_VERSION, type: 'realtime.event', payload: event });
        for (const client of person.clients) client.send(frame);
      }
    }
    if (event.kind === 'member.changed' && event.memberId) {
      const member = people.get(event.memberId);
      if (!member) return;
      const heard = audience?.has(member) ?? false;
      // A role changed or a workspace was joined: read again (a departure already came as membership.ended).
      // Someone who just joined was not in the audience yet: they are told once their roles include it.
      void refresh(member).then(() => {
        if (!heard && member.roles.has(event.workspaceId)) send(member, event);
      });
    }
  }

  function send(person: Person, event: RealtimeEvent) {
    const frame = JSON.stringify({ v: WS_PROTOCOL_VERSION, type: 'realtime.event', payload: event });
    for (const client of person.clients) client.send(frame);
  }

  function tellLeft(person: Person, workspaceId: string) {
    send(person, {
      workspaceId,
      kind: 'member.changed',
      memberId: person.userId,
      at: new Date().toISOString(),
    });
  }

  function closeSession(userId: string, sessionId: string) {
    for (const client of people.get(userId)?.clients ?? []) {
      if (client.sessionId === sessionId) client.close(REALTIME_CLOSE.SESSION_ENDED, 'session ended');
    }
  }

  function onMessage(message: BusMessage) {
    switch (message.type) {
      case 'realtime':
        deliver(message.event);
        return;
      case 'membership.ended': {
        const person = people.get(message.userId);
        if (!person) return;
        // The person themselves is told once, so their app leaves the workspace at once; then they hear nothing more of it.
        if (person.roles.has(message.workspaceId)) tellLeft(person, message.workspaceId);
        leave(person, message.workspaceId);
        // A read in flight may have started before the departure committed.
        if (person.loading) person.epoch++;
        return;
      }
      case 'session.ended':
        closeSession(message.userId, message.sessionId);
        return;
      default:
        return; // gateway.revoked, agents.changed: for the gateway link
    }
  }

  /** Everything again: memberships of everyone here, and whether their sessions still live. */
  async function revalidate() {
    await Promise.all([...people.values()].map(refresh));
    const clients = [...people.values()].flatMap((person) => [...person.clients]);
    const sessionIds = [...new Set(clients.map((client) => client.sessionId))];
    let live: Set<string>;
    try {
      live = new Set();
      for (let i = 0; i < sessionIds.length; i += 1_000) {
        for (const id of await reader.liveSessions(sessionIds.slice(i, i + 1_000))) live.add(id);
      }
    } catch (error) {
      logger.warn({ err: error }, 'realtime: could not check sessions');
      return;
    }
    for (const client of clients) {
      if (!live.has(client.sessionId)) client.close(REALTIME_CLOSE.SESSION_ENDED, 'session ended');
    }
  }

  const unsubscribe = bus.subscribe(onMessage);
  const unwatch = bus.onReconnect(() => void revalidate());
  const timer = setInterval(() => void revalidate(), revalidateMs);
  timer.unref();

  return {
    /** Holds a signed-in socket; resolves once its person's workspaces are known. */
    async add(client: RealtimeClient): Promise<void> {
      let person = people.get(client.userId);
      if (!person) {
        person = {
          userId: client.userId,
          clients: new Set(),
          roles: new Map(),
          epoch: 0,
          loading: undefined,
        };
        people.set(client.userId, person);
        person.clients.add(client);
        await refresh(person);
        return;
      }
      person.clients.add(client);
      await person.loading;
    },

    remove(client: RealtimeClient): void {
      const person = people.get(client.userId);
      if (!person?.clients.delete(client) || person.clients.size > 0) return;
      people.delete(client.userId);
      for (const workspaceId of [...person.roles.keys()]) leave(person, workspaceId);
    },

    /** Every socket here: for a shutdown. */
    closeAll(code: number, reason: string): void {
      for (const person of [...people.values()]) {
        for (const client of [...person.clients]) client.close(code, reason);
      }
    },

    stop(): void {
      clearInterval(timer);
      unsubscribe();
      unwatch();
    },

    revalidate,
  };
}

export type RealtimeHub = ReturnType<typeof createRealtimeHub>;
