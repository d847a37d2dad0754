import { ApiError } from '@multiclaw/protocol';
import { sealedSelect } from './contract.js';
import { type SecretServiceDeps, toSealed } from './secrets-service.js';

/** One secret value handed to a linked gateway (the link itself arrives with transcript sync). */
export type GatewaySecret = { id: string; name: string; version: number; agentIds: string[]; value: string };

/**
 * The values a linked gateway may have: those of secrets granted to the given
 * agents, and only when the gateway is enrolled in this workspace, not
 * revoked, and the person who enrolled it is still a member. Otherwise it is
 * refused (SECRET_GATEWAY_NOT_AUTHORIZED). Agents of another workspace, or
 * without grants, contribute nothing. Each secret handed out is audited
 * (`secret.fetched_by_gateway`: the gateway, the secret, the agents; never the
 * value). The transport (the gateway link) calls this once it exists.
 */
export async function valuesForGateway(
  deps: Pick<SecretServiceDeps, 'db' | 'audit' | 'crypto'>,
  request: { workspaceId: string; gatewayId: string; agentIds: readonly string[] },
): Promise<GatewaySecret[]> {
  const { db, audit, crypto } = deps;
  const { workspaceId, gatewayId } = request;
  const refuse = () =>
    new ApiError('SECRET_GATEWAY_NOT_AUTHORIZED', 'This gateway may not fetch secrets of this workspace');

  const gateway = await db.gateway.findFirst({
    where: { id: gatewayId, workspaceId },
    select: { id: true, ownerUserId: true, revokedAt: true },
  });
  if (!gateway || gateway.revokedAt !== null) throw refuse();
  const membership = await db.membership.findUnique({
    where: { workspaceId_userId: { workspaceId, userId: gateway.ownerUserId } },
    select: { role: true },
  });
  if (!membership) throw refuse();

  const agentIds = [...new Set(request.agentIds)];
  if (agentIds.length === 0) return [];
  // Scoped by workspace: a grant's composite keys tie its agent and secret to this workspace.
  const grants = await db.secretGrant.findMany({
    where: { workspaceId, agentId: { in: agentIds } },
    select: { secretId: true, agentId: true },
    orderBy: [{ secretId: 'asc' }, { agentId: 'asc' }],
  });
  if (grants.length === 0) return [];
  const agentsBySecret = new Map<string, string[]>();
  for (const grant of grants) {
    agentsBySecret.set(grant.secretId, [...(agentsBySecret.get(grant.secretId) ?? []), grant.agentId]);
  }
  const rows = await db.secret.findMany({
    where: { workspaceId, id: { in: [...agentsBySecret.keys()] } },
    select: { id: true, name: true, version: true, ...sealedSelect },
    orderBy: { name: 'asc' },
  });

  const secrets: GatewaySecret[] = [];
  for (const row of rows) {
    const value = await crypto.open(db, { workspaceId, secretId: row.id }, toSealed(row));
    secrets.push({
      id: row.id,
      name: row.name,
      version: row.version,
      agentIds: agentsBySecret.get(row.id) ?? [],
      value,
    });
  }
  // Audited before anything is handed out: no entry, no values.
  await db.$transaction(async (tx) => {
    for (const secret of secrets) {
      await audit.record(
        {
          action: 'secret.fetched_by_gateway',
          actorKind: 'gateway',
          actorId: gateway.id,
          workspaceId,
          targetType: 'secret',
          targetId: secret.id,
          metadata: {
            name: secret.name,
            version: secret.version,
            ownerUserId: gateway.ownerUserId,
            agentIds: secret.agentIds.join(','),
          },
        },
        tx,
      );
    }
  });
  return secrets;
}
