import type { ConfigAgents } from '@multiclaw/protocol';
import type { Database } from '../../db/client.js';
import { agentSelect, toAgent } from '../agents/service.js';

/**
 * A workspace's agents as a linked gateway gets them (`config.agents`): all
 * of them, each time, with the workspace's `configVersion` as the version.
 * That number is bumped in the transaction of every agent creation, update
 * and deletion and every grant change (db/write-helpers.ts), so it only
 * grows, and a deletion moves it too. Both are read in one snapshot
 * (REPEATABLE READ): a version never goes out with agents older than it.
 */
export async function loadAgentsConfig(db: Database, workspaceId: string): Promise<ConfigAgents> {
  const [workspace, rows] = await db.$transaction(
    [
      db.workspace.findUnique({ where: { id: workspaceId }, select: { configVersion: true } }),
      db.agent.findMany({
        where: { workspaceId },
        orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
        select: agentSelect,
      }),
    ],
    { isolationLevel: 'RepeatableRead' },
  );
  return { version: workspace?.configVersion ?? 0, agents: rows.map(toAgent) };
}
