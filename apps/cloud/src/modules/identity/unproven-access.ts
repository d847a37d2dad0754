import type { Transaction } from '../../db/client.js';

/**
 * When the proven owner of an address claims an account that never proved it
 * (single sign-on takeover, password reset through the mailbox), whoever held
 * it before may have set up more than sessions: gateways enrolled with their
 * own device keys keep a link to the workspace. This revokes those gateways
 * and deletes unused enrollment codes, inside the caller's transaction.
 * Returns how many gateways were revoked.
 */
export async function revokeDevicesOfUnprovenHolder(
  tx: Transaction,
  userId: string,
  at: Date,
): Promise<number> {
  const gateways = await tx.gateway.updateMany({
    where: { ownerUserId: userId, revokedAt: null },
    data: { revokedAt: at },
  });
  await tx.gatewayEnrollment.deleteMany({ where: { createdById: userId, usedAt: null } });
  return gateways.count;
}
