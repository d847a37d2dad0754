import { randomUUID } from 'node:crypto';
import type { ConfigFile } from '@multiclaw/gateway/client';
import { ChatSendResult, sessionKeyOf } from '@multiclaw/protocol';
import { z } from 'zod';
import type { GatewayConnection } from '../gateway/gateway-connection.js';
import type { CommandHandlers } from '../ipc/registry.js';

const HistoryPage = z.object({
  sessionKey: z.string(),
  messages: z.array(
    z.object({
      id: z.string(),
      seq: z.number().int().positive(),
      role: z.enum(['system', 'user', 'assistant']),
      content: z.union([z.string(), z.array(z.object({ text: z.string() }))]),
      timestamp: z.number(),
      runId: z.string().optional(),
      status: z.enum(['complete', 'aborted', 'error', 'interrupted']).optional(),
      errorMessage: z.string().optional(),
    }),
  ),
  nextCursor: z.string().optional(),
});

const SessionsPage = z.object({
  totalCount: z.number().int().nonnegative(),
  nextOffset: z.number().int().nonnegative().optional(),
  sessions: z.array(
    z.object({
      key: z.string(),
      agentId: z.string(),
      displayName: z.string(),
      createdAt: z.number(),
      updatedAt: z.number(),
      messageCount: z.number().int().nonnegative(),
      damaged: z.boolean().optional(),
    }),
  ),
});

const AgentIds = z.object({ agents: z.array(z.object({ id: z.string() })) });

/**
 * Which agents' conversations sync, and where, by the gateway's rule
 * (docs/data-residency.md): nothing while not linked; once linked, a workspace
 * agent's (listed by the gateway, not in openclaw.json) and an opted-in local
 * agent's (`sync.agents`), to the linked workspace.
 */
async function syncRule(gateway: GatewayConnection, config: ConfigFile) {
  const link = (await gateway.status()).link;
  const workspaceId =
    link && link.state !== 'not linked' && link.state !== 'revoked' ? link.workspaceId : undefined;
  if (!workspaceId) return () => null;
  const current = await config.current();
  const local = new Set(current.agents.list.map((agent) => agent.id));
  const optedIn = new Set(current.sync?.agents ?? []);
  const listed = AgentIds.parse(await gateway.call('agents.list')).agents.map((agent) => agent.id);
  const syncing = new Set([...listed.filter((id) => !local.has(id)), ...optedIn]);
  return (agentId: string) => (syncing.has(agentId) ? { workspaceId } : null);
}

/** Conversations, through the gateway's control protocol; replies stream over the event stream. */
export function chatCommands({
  gateway,
  config,
}: {
  gateway: GatewayConnection;
  /** openclaw.json: which agents are local, which of them the person opted into sync. */
  config: ConfigFile;
}): Pick<CommandHandlers, 'chat.send' | 'chat.abort' | 'chat.history' | 'sessions.list' | 'sessions.delete'> {
  return {
    'chat.send': async ({ agentId, sessionKey, message, idempotencyKey }) => {
      const key = sessionKey ?? sessionKeyOf(agentId, `desktop-${randomUUID()}`);
      const started = ChatSendResult.parse(
        await gateway.call('chat.send', {
          sessionKey: key,
          agentId,
          message,
          idempotencyKey: idempotencyKey ?? randomUUID(),
        }),
      );
      return { runId: started.runId, sessionKey: started.sessionKey, status: started.status };
    },
    'chat.abort': async ({ sessionKey, runId }) => {
      const answer = z
        .object({ aborted: z.boolean() })
        .parse(await gateway.call('chat.abort', { sessionKey, ...(runId ? { runId } : {}) }));
      return { aborted: answer.aborted };
    },
    'chat.history': async ({ sessionKey, limit, cursor }) => {
      const page = HistoryPage.parse(
        await gateway.call('chat.history', { sessionKey, limit, ...(cursor ? { cursor } : {}) }),
      );
      return {
        sessionKey: page.sessionKey,
        messages: page.messages.map(({ content, ...message }) => ({
          ...message,
          text: typeof content === 'string' ? content : content.map((part) => part.text).join(''),
        })),
        ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
      };
    },
    'sessions.list': async ({ search, agentId, limit, offset }) => {
      const syncOf = await syncRule(gateway, config);
      const page = SessionsPage.parse(
        await gateway.call('sessions.list', {
          limit,
          offset,
          ...(search ? { search } : {}),
          ...(agentId ? { agentId } : {}),
        }),
      );
      return {
        total: page.totalCount,
        ...(page.nextOffset === undefined ? {} : { nextOffset: page.nextOffset }),
        sessions: page.sessions.map(({ displayName, ...session }) => ({
          ...session,
          title: displayName,
          sync: syncOf(session.agentId),
        })),
      };
    },
    'sessions.delete': async ({ sessionKey }) => {
      const answer = z
        .object({ deleted: z.boolean() })
        .parse(await gateway.call('sessions.delete', { key: sessionKey }));
      return { deleted: answer.deleted };
    },
  };
}
