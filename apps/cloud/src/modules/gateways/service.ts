import { createHash, randomBytes } from 'node:crypto';
import {
  ApiError,
  type EnrollGatewayRequest,
  type EnrollGatewayResponse,
  GATEWAY_ENROLLMENT_TTL_SECONDS,
  type Gateway,
  type GatewayEnrollment,
  type Page,
} from '@multiclaw/protocol';
import type { Database } from '../../db/client.js';
import { pageQuery, toPage } from '../../db/keyset-page.js';
import type { EventBus } from '../../events/event-bus.js';
import type { Actor } from '../../plugins/actor.js';
import { type AuditEntry, type AuditTx, actorEntry } from '../audit/recorder.js';
import { isLinkOnline } from '../gateway-link/presence.js';
import type { Membership } from '../workspaces/access.js';
import { lockWorkspaces, roleIn } from '../workspaces/owner-guard.js';
import { allows } from '../workspaces/permissions.js';
import { isUsableEd25519PublicKey, rawPublicKey } from './public-key.js';

export type GatewayServiceDeps = {
  db: Database;
  now: () => Date;
  /** Always inside the change's transaction: no audit entry, no change. */
  audit: { record(entry: AuditEntry, tx: AuditTx): Promise<void> };
  /** A revoke tells every instance, so whichever holds the gateway's link socket closes it. */
  bus: Pick<EventBus, 'publish'>;
};

/** Where an unauthenticated enroll request comes from, for its audit entry. */
export type EnrollClient = { ip?: string | undefined; userAgent?: string | undefined };

const hashCode = (code: string) => new Uint8Array(createHash('sha256').update(code).digest());

/** Unknown, used, expired, or its creator no longer a member: one answer for all. */
const invalidCode = () =>
  new ApiError(
    'GATEWAY_ENROLLMENT_INVALID',
    'This enrollment code is not valid: it is unknown, already used or expired. Create a new code in the workspace and link the gateway again.',
  );

const badPublicKey = () =>
  new ApiError('VALIDATION_FAILED', 'The request is invalid', {
    issues: [{ path: 'body.publicKey', message: 'Must be a raw 32-byte Ed25519 public key in base64url' }],
  });

type GatewayRow = {
  id: string;
  name: string | null;
  ownerUserId: string;
  createdAt: Date;
  lastSeenAt: Date | null;
  onlineAt: Date | null;
  revokedAt: Date | null;
};

const gatewaySelect = {
  id: true,
  name: true,
  ownerUserId: true,
  createdAt: true,
  lastSeenAt: true,
  onlineAt: true,
  revokedAt: true,
} as const;

function toGateway(row: GatewayRow, now: Date): Gateway {
  return {
    id: row.id,
    name: row.name,
    userId: row.ownerUserId,
    createdAt: row.createdAt.toISOString(),
    lastSeenAt: row.lastSeenAt?.toISOString() ?? null,
    // Its link socket (GET /v1/gateway-link) is open and heartbeating.
    online: row.revokedAt === null && isLinkOnline(row, now),
    revokedAt: row.revokedAt?.toISOString() ?? null,
  };
}

/**
 * Gateways of a workspace: one-time enrollment codes (256 random bits, shown
 * once, stored as a SHA-256 hash, single use, valid 10 minutes), enrolling a
 * gateway's public key with one, the list, and revocation (the row stays,
 * `revokedAt` set). Every change records its audit entry in its transaction.
 */
export function createGatewayService({ db, now, audit, bus }: GatewayServiceDeps) {
  /** Creates a one-time code for the caller to enroll their own gateway in the workspace. */
  async function createEnrollment(
    actor: Actor,
    workspaceId: string,
    name?: string,
  ): Promise<GatewayEnrollment> {
    const code = randomBytes(32).toString('base64url');
    const at = now();
    const expiresAt = new Date(at.getTime() + GATEWAY_ENROLLMENT_TTL_SECONDS * 1000);
    await db.$transaction(async (tx) => {
      const created = await tx.gatewayEnrollment.create({
        data: {
          workspaceId,
          createdById: actor.userId,
          codeHash: hashCode(code),
          name: name ?? null,
          createdAt: at,
          expiresAt,
        },
        select: { id: true },
      });
      await audit.record(
        actorEntry(
          actor,
          workspaceId,
          'gateway.enrollment_created',
          { type: 'gateway_enrollment', id: created.id },
          { expiresAt: expiresAt.toISOString(), ...(name ? { name } : {}) },
        ),
        tx,
      );
    });
    return { code, expiresAt: expiresAt.toISOString() };
  }

  /**
   * Trades a code and a public key for a gateway. Marking the code used and
   * creating the gateway are one transaction, and the code is claimed by a
   * conditional update: of two concurrent enrolls with one code, exactly one
   * gets a gateway. Under the workspace lock (the one member removal takes),
   * the code's creator must still be a member allowed to enroll.
   */
  async function enroll(input: EnrollGatewayRequest, client: EnrollClient): Promise<EnrollGatewayResponse> {
    const raw = rawPublicKey(input.publicKey);
    if (!raw || !isUsableEd25519PublicKey(raw)) throw badPublicKey();
    const codeHash = hashCode(input.code);
    const addressed = await db.gatewayEnrollment.findUnique({
      where: { codeHash },
      select: { workspaceId: true, createdById: true, name: true },
    });
    if (!addressed) throw invalidCode();
    // The name the gateway enrolls with, else the one the code was created with.
    const name = input.name ?? addressed.name;
    const at = now();
    return db.$transaction(async (tx) => {
      // Lock order, as everywhere: the user (account deletion locks it first), then the workspace.
      const [user] = await tx.$queryRaw<Array<{ id: string }>>`
        SELECT id::text FROM users WHERE id = ${addressed.createdById}::uuid FOR KEY SHARE`;
      if (!user) throw invalidCode();
      const workspace = (await lockWorkspaces(tx, [addressed.workspaceId])).get(addressed.workspaceId);
      const role = workspace && roleIn(workspace, addressed.createdById);
      if (!role || !allows(role, 'gateways.enroll')) throw invalidCode();
      const [claimed] = await tx.$queryRaw<Array<{ id: string }>>`
        UPDATE gateway_enrollments SET used_at = ${at}
        WHERE code_hash = ${codeHash} AND used_at IS NULL AND expires_at > ${at}
        RETURNING id::text`;
      if (!claimed) throw invalidCode();
      const gateway = await tx.gateway.create({
        data: {
          workspaceId: addressed.workspaceId,
          ownerUserId: addressed.createdById,
          name,
          publicKey: raw,
          createdAt: at,
        },
        select: { id: true },
      });
      await tx.gatewayEnrollment.update({ where: { id: claimed.id }, data: { gatewayId: gateway.id } });
      await audit.record(
        {
          action: 'gateway.enrolled',
          actorKind: 'gateway',
          actorId: gateway.id,
          workspaceId: addressed.workspaceId,
          targetType: 'gateway',
          targetId: gateway.id,
          metadata: { userId: addressed.createdById, enrollmentId: claimed.id, name },
          ip: client.ip,
          userAgent: client.userAgent,
        },
        tx,
      );
      return { gatewayId: gateway.id, workspaceId: addressed.workspaceId };
    });
  }

  /** The caller's own gateways, or every gateway of the workspace when their role may list any. */
  async function list(
    membership: Membership,
    page: { cursor?: string | undefined; limit: number },
  ): Promise<Page<Gateway>> {
    const query = pageQuery(page);
    const seesAll = allows(membership.role, 'gateways.list_any');
    const rows = await db.gateway.findMany({
      where: {
        workspaceId: membership.workspaceId,
        ...(seesAll ? {} : { ownerUserId: membership.userId }),
        ...query.where,
      },
      orderBy: query.orderBy,
      take: query.take,
      select: gatewaySelect,
    });
    const at = now();
    return toPage(rows, page.limit, (row) => toGateway(row, at));
  }

  /**
   * Revokes a gateway: its own person may, and whoever may revoke any. The
   * row stays (its conversations and audit entries name it). Revoking a
   * revoked gateway changes nothing and answers the same, without a second
   * audit entry. Once committed, the bus carries `gateway.revoked` to every
   * instance: the one holding its link socket closes it (4403), and its
   * next connection is refused at the upgrade.
   */
  async function revoke(actor: Actor, membership: Membership, gatewayId: string): Promise<void> {
    const { workspaceId } = membership;
    await db.$transaction(async (tx) => {
      const gateway = await tx.gateway.findFirst({
        where: { id: gatewayId, workspaceId },
        select: { ownerUserId: true, name: true },
      });
      if (!gateway) throw new ApiError('NOT_FOUND', 'No such gateway');
      if (gateway.ownerUserId !== actor.userId && !allows(membership.role, 'gateways.revoke_any')) {
        throw new ApiError('FORBIDDEN', 'Your role in this workspace does not allow this');
      }
      const { count } = await tx.gateway.updateMany({
        where: { id: gatewayId, workspaceId, revokedAt: null },
        data: { revokedAt: now() },
      });
      if (count === 0) return;
      await audit.record(
        actorEntry(
          actor,
          workspaceId,
          'gateway.revoked',
          { type: 'gateway', id: gatewayId },
          { userId: gateway.ownerUserId, name: gateway.name },
        ),
        tx,
      );
    });
    // Published on a repeated revoke too, so retrying a revoke whose message
    // failed to go out (an error answer) still closes the socket.
    await bus.publish({ type: 'gateway.revoked', gatewayId, workspaceId });
  }

  return { createEnrollment, enroll, list, revoke };
}

export type GatewayService = ReturnType<typeof createGatewayService>;
