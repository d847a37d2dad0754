import { LINK_HEARTBEAT_MS, type RealtimeEventKind } from '@multiclaw/protocol';
import type { FastifyBaseLogger } from 'fastify';
import type { Database } from '../../db/client.js';
import type { EventBus } from '../../events/event-bus.js';
import type { LinkedGateway } from './assertion.js';

/** Heartbeats a gateway may miss and still count as online. */
const MISSED_HEARTBEATS = 3;

/**
 * Whether a gateway counts as online: a link socket opened (`onlineAt`) and
 * not cleanly closed, and a heartbeat within the last three intervals — a
 * cloud instance that died with the socket open leaves `onlineAt` set, and
 * this is what lets the gateway fall offline anyway.
 */
export function isLinkOnline(row: { onlineAt: Date | null; lastSeenAt: Date | null }, now: Date): boolean {
  if (row.onlineAt === null || row.lastSeenAt === null) return false;
  return now.getTime() - row.lastSeenAt.getTime() <= MISSED_HEARTBEATS * LINK_HEARTBEAT_MS;
}

export type LinkPresenceDeps = {
  db: Database;
  now: () => Date;
  bus: Pick<EventBus, 'publish'>;
  logger: FastifyBaseLogger;
};

/**
 * A gateway's online state in Postgres (`onlineAt`, `lastSeenAt`) and the
 * `gateway.online` / `gateway.offline` events desktops see. A connection is
 * known by when it opened: its close clears `onlineAt` only if no newer
 * connection (on any instance) has set it since.
 */
export function createLinkPresence({ db, now, bus, logger }: LinkPresenceDeps) {
  function announce(gateway: LinkedGateway, kind: RealtimeEventKind) {
    const event = {
      workspaceId: gateway.workspaceId,
      kind,
      at: now().toISOString(),
      gatewayId: gateway.id,
      // Only the gateway's person and the workspace's owners may see it, as in the list.
      userId: gateway.ownerUserId,
    };
    bus.publish({ type: 'realtime', event }).catch((error: unknown) => {
      logger.warn({ err: error, gatewayId: gateway.id, kind }, 'gateway link: presence event not published');
    });
  }

  return {
    /**
     * Marks a new connection online, only if the gateway is still not revoked
     * and its owner still a member: the check made at the upgrade, made again
     * after the socket joined this instance's registry, so a revoke in between
     * is not missed. False: close the socket.
     */
    async opened(gateway: LinkedGateway, openedAt: Date): Promise<boolean> {
      const updated = await db.$executeRaw`
        UPDATE gateways g SET online_at = ${openedAt}, last_seen_at = ${openedAt}
        WHERE g.id = ${gateway.id}::uuid AND g.revoked_at IS NULL
          AND EXISTS (SELECT 1 FROM memberships m
                      WHERE m.workspace_id = g.workspace_id AND m.user_id = g.owner_user_id)`;
      if (updated === 1) announce(gateway, 'gateway.online');
      return updated === 1;
    },

    /** A heartbeat: one indexed update, no read. Restores `onlineAt` if a stale close cleared it. */
    async seen(gatewayId: string, openedAt: Date): Promise<void> {
      await db.$executeRaw`
        UPDATE gateways SET last_seen_at = ${now()}, online_at = COALESCE(online_at, ${openedAt})
        WHERE id = ${gatewayId}::uuid AND revoked_at IS NULL`;
    },

    /** The connection opened at `openedAt` ended; offline unless a newer one took over. */
    async closed(gateway: LinkedGateway, openedAt: Date): Promise<void> {
      const updated = await db.$executeRaw`
        UPDATE gateways SET online_at = NULL
        WHERE id = ${gateway.id}::uuid AND online_at = ${openedAt}`;
      if (updated === 1) announce(gateway, 'gateway.offline');
    },
  };
}

export type LinkPresence = ReturnType<typeof createLinkPresence>;
