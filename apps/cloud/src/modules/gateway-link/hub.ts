import { type ConfigAgents, LINK_CLOSE } from '@multiclaw/protocol';
import type { FastifyBaseLogger } from 'fastify';
import type { Database } from '../../db/client.js';
import type { BusMessage, EventBus } from '../../events/event-bus.js';
import type { LinkSession } from './session.js';

export type LinkHubDeps = {
  db: Database;
  bus: Pick<EventBus, 'subscribe' | 'onReconnect'>;
  loadAgents: (workspaceId: string) => Promise<ConfigAgents>;
  logger: FastifyBaseLogger;
};

/**
 * The link sockets this instance holds, one per gateway, and what the bus
 * does to them: a revoked gateway's socket, or those of a person who left the
 * workspace, are closed (4403); a workspace whose agents changed gets a fresh
 * `config.agents` on each of its sockets. Whichever instance holds a socket
 * hears the bus message, so this works across instances.
 */
export function createLinkHub({ db, bus, loadAgents, logger }: LinkHubDeps) {
  const sessions = new Map<string, LinkSession>();

  const held = (filter: (session: LinkSession) => boolean) => [...sessions.values()].filter(filter);
  const inWorkspace = (workspaceId: string) => held((s) => s.gateway.workspaceId === workspaceId);

  async function pushAgents(workspaceId: string) {
    const targets = inWorkspace(workspaceId);
    if (targets.length === 0) return;
    try {
      // Loaded once for all of the workspace's sockets.
      const config = await loadAgents(workspaceId);
      for (const session of targets) session.pushAgents(config);
    } catch (error) {
      logger.error({ err: error, workspaceId }, 'gateway link: workspace agents not pushed');
    }
  }

  function onMessage(message: BusMessage) {
    if (message.type === 'gateway.revoked') {
      sessions.get(message.gatewayId)?.close(LINK_CLOSE.REVOKED, 'gateway revoked');
    } else if (message.type === 'membership.ended') {
      const owned = (s: LinkSession) =>
        s.gateway.workspaceId === message.workspaceId && s.gateway.ownerUserId === message.userId;
      for (const session of held(owned)) session.close(LINK_CLOSE.REVOKED, 'membership ended');
    } else if (message.type === 'agents.changed') {
      void pushAgents(message.workspaceId);
    }
  }

  /**
   * After a bus outage, messages may have been lost: check again in Postgres
   * that each held gateway may still be linked, and send every socket its
   * workspace's agents (a socket skips a version it already has).
   */
  async function recheck() {
    const ids = [...sessions.keys()];
    if (ids.length === 0) return;
    try {
      const allowed = await db.$queryRaw<Array<{ id: string }>>`
        SELECT g.id::text FROM gateways g
        WHERE g.id = ANY(${ids}::uuid[]) AND g.revoked_at IS NULL
          AND EXISTS (SELECT 1 FROM memberships m
                      WHERE m.workspace_id = g.workspace_id AND m.user_id = g.owner_user_id)`;
      const stillAllowed = new Set(allowed.map((row) => row.id));
      for (const id of ids) {
        if (!stillAllowed.has(id)) sessions.get(id)?.close(LINK_CLOSE.REVOKED, 'gateway revoked');
      }
      const workspaces = new Set(
        held((s) => stillAllowed.has(s.gateway.id)).map((s) => s.gateway.workspaceId),
      );
      await Promise.all([...workspaces].map(pushAgents));
    } catch (error) {
      logger.error({ err: error }, 'gateway link: re-check after a bus reconnect failed');
    }
  }

  const unsubscribe = bus.subscribe(onMessage);
  const stopReconnect = bus.onReconnect(() => void recheck());

  return {
    /** Holds a new connection; an older one of the same gateway on this instance is replaced (4409). */
    add(session: LinkSession) {
      const previous = sessions.get(session.gateway.id);
      sessions.set(session.gateway.id, session);
      previous?.close(LINK_CLOSE.REPLACED, 'replaced by a newer connection');
      void session.ended.then(() => {
        if (sessions.get(session.gateway.id) === session) sessions.delete(session.gateway.id);
      });
    },
    /** Closes every socket (the app is shutting down) and waits until each cleared its presence. */
    async closeAll(code: number, reason: string) {
      unsubscribe();
      stopReconnect();
      const all = [...sessions.values()];
      for (const session of all) session.close(code, reason);
      await Promise.all(all.map((session) => session.ended));
    },
    size: () => sessions.size,
  };
}

export type LinkHub = ReturnType<typeof createLinkHub>;
