import { exportAuditLog } from '../cloud/audit-export.js';
import { linkThisComputer } from '../cloud/link-this-computer.js';
import { unlinkThisComputer } from '../cloud/unlink-this-computer.js';
import type { CommandHandlers } from '../ipc/registry.js';
import type { CloudCommandDeps } from './cloud-account-commands.js';
import type { GatewayCommandDeps } from './gateway-commands.js';

type WorkspaceCommand =
  | `workspaces.${'list' | 'create' | 'rename' | 'delete'}`
  | `members.${'list' | 'changeRole' | 'remove' | 'transfer'}`
  | `invitations.${'create' | 'list' | 'revoke' | 'accept'}`
  | `workspaceAgents.${'list' | 'create' | 'update' | 'delete'}`
  | `secrets.${'list' | 'create' | 'update' | 'delete' | 'reveal'}`
  | `gateways.${'list' | 'revoke' | 'linkThisComputer' | 'unlinkThisComputer'}`
  | `transcripts.${'list' | 'read' | 'delete'}`
  | `audit.${'list' | 'export'}`;

const DONE = { ok: true } as const;
const at = (...segments: string[]) => `/v1/${segments.map(encodeURIComponent).join('/')}`;

/**
 * The workspace commands: each is one request to the cloud as the signed-in
 * person. The cloud decides what their role allows; its refusals (403, 404)
 * come back in the envelope unchanged. A revealed secret passes through and
 * is kept nowhere.
 */
export function cloudWorkspaceCommands(
  deps: CloudCommandDeps & Pick<GatewayCommandDeps, 'gateway'>,
): Pick<CommandHandlers, WorkspaceCommand> {
  const send = async (
    method: string,
    path: string,
    options: { body?: unknown; query?: Record<string, string | number | undefined> } = {},
  ): Promise<never> => (await deps.cloud.session.request(method, path, options)).body as never;
  const done = async (method: string, path: string, body?: unknown) => {
    await deps.cloud.session.request(method, path, body === undefined ? {} : { body });
    return DONE;
  };
  const ws = (workspaceId: string, ...rest: string[]) => at('workspaces', workspaceId, ...rest);
  const paging = (input: { cursor?: string | undefined; limit?: number | undefined }) => ({
    query: { cursor: input.cursor, limit: input.limit },
  });

  return {
    'workspaces.list': () => send('GET', at('workspaces')),
    'workspaces.create': ({ name }) => send('POST', at('workspaces'), { body: { name } }),
    'workspaces.rename': ({ workspaceId, name }) => send('PATCH', ws(workspaceId), { body: { name } }),
    'workspaces.delete': ({ workspaceId }) => done('DELETE', ws(workspaceId)),

    'members.list': ({ workspaceId }) => send('GET', ws(workspaceId, 'members')),
    'members.changeRole': ({ workspaceId, userId, role }) =>
      done('PATCH', ws(workspaceId, 'members', userId), { role }),
    'members.remove': ({ workspaceId, userId }) => done('DELETE', ws(workspaceId, 'members', userId)),
    'members.transfer': ({ workspaceId, userId }) =>
      done('PATCH', ws(workspaceId, 'members', userId), { role: 'owner', transfer: true }),

    'invitations.create': ({ workspaceId, email, role }) =>
      send('POST', ws(workspaceId, 'invitations'), { body: { email, role } }),
    'invitations.list': ({ workspaceId }) => send('GET', ws(workspaceId, 'invitations')),
    'invitations.revoke': ({ workspaceId, invitationId }) =>
      done('DELETE', ws(workspaceId, 'invitations', invitationId)),
    'invitations.accept': ({ token }) => send('POST', at('invitations', 'accept'), { body: { token } }),

    'workspaceAgents.list': (input) => send('GET', ws(input.workspaceId, 'agents'), paging(input)),
    'workspaceAgents.create': ({ workspaceId, agent }) =>
      send('POST', ws(workspaceId, 'agents'), { body: agent }),
    'workspaceAgents.update': ({ workspaceId, agentId, changes }) =>
      send('PATCH', ws(workspaceId, 'agents', agentId), { body: changes }),
    'workspaceAgents.delete': ({ workspaceId, agentId }) =>
      done('DELETE', ws(workspaceId, 'agents', agentId)),

    'secrets.list': (input) => send('GET', ws(input.workspaceId, 'secrets'), paging(input)),
    'secrets.create': ({ workspaceId, secret }) => send('POST', ws(workspaceId, 'secrets'), { body: secret }),
    'secrets.update': ({ workspaceId, secretId, changes }) =>
      send('PUT', ws(workspaceId, 'secrets', secretId), { body: changes }),
    'secrets.delete': ({ workspaceId, secretId }) => done('DELETE', ws(workspaceId, 'secrets', secretId)),
    'secrets.reveal': ({ workspaceId, secretId }) =>
      send('POST', ws(workspaceId, 'secrets', secretId, 'reveal'), { body: {} }),

    'gateways.list': (input) => send('GET', ws(input.workspaceId, 'gateways'), paging(input)),
    'gateways.revoke': ({ workspaceId, gatewayId }) => done('DELETE', ws(workspaceId, 'gateways', gatewayId)),
    'gateways.linkThisComputer': ({ workspaceId }) =>
      linkThisComputer(
        { session: deps.cloud.session, env: deps.cloud.env, logDir: deps.cloud.logDir },
        workspaceId,
      ),
    'gateways.unlinkThisComputer': ({ workspaceId }) =>
      unlinkThisComputer(
        {
          linkOf: async () => {
            const status = await deps.gateway.status();
            return status.state === 'running' ? (status.link ?? { state: 'not linked' }) : undefined;
          },
          env: deps.cloud.env,
          logDir: deps.cloud.logDir,
        },
        workspaceId,
      ),

    'transcripts.list': (input) =>
      send('GET', ws(input.workspaceId, 'conversations'), {
        query: { cursor: input.cursor, limit: input.limit, userId: input.userId },
      }),
    'transcripts.read': ({ workspaceId, conversationId, after, limit }) =>
      send('GET', ws(workspaceId, 'conversations', conversationId, 'messages'), { query: { after, limit } }),
    'transcripts.delete': ({ workspaceId, conversationId }) =>
      done('DELETE', ws(workspaceId, 'conversations', conversationId)),

    'audit.list': ({ workspaceId, cursor, limit, from, to, actor, action }) =>
      send('GET', ws(workspaceId, 'audit'), { query: { cursor, limit, from, to, actor, action } }),
    'audit.export': (input) =>
      exportAuditLog({ session: deps.cloud.session, exportDir: deps.cloud.exportDir }, input),
  };
}
