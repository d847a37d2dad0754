import type { Transaction } from './client.js';

/** A unique constraint refused the write (Prisma's P2002). */
export function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: string } | null)?.code === 'P2002';
}

/**
 * Bumps the workspace's configuration version, in the transaction of the
 * change it versions; linked gateways sync agents and grants by this number.
 */
export async function bumpConfigVersion(tx: Transaction, workspaceId: string): Promise<number> {
  const workspace = await tx.workspace.update({
    where: { id: workspaceId },
    data: { configVersion: { increment: 1 } },
    select: { configVersion: true },
  });
  return workspace.configVersion;
}
