import { ApiError, type GatewayMethodParams, type RecordingMethods } from '@multiclaw/protocol';
import type { ConfigFile } from '../config/config-file.js';
import type { ExtensionAccess } from '../extension/extension-access.js';
import type { WorkspaceAgents } from '../link/workspace-agents.js';
import { findAgent } from '../runs/credentials.js';
import type { RecordingStore } from './recording-store.js';

type RecordingMethod = keyof typeof RecordingMethods;
type Handlers = { [M in RecordingMethod]: (params: GatewayMethodParams<M>) => Promise<unknown> };

export interface RecordingMethodDeps {
  config: ConfigFile;
  recordings?: RecordingStore | undefined;
  extension?: ExtensionAccess | undefined;
  workspaceAgents?: WorkspaceAgents | undefined;
}

/** The control-protocol methods of recordings and of the extension's pairing (what the desktop and the CLI call). */
export function createRecordingMethods(deps: RecordingMethodDeps): Handlers {
  const store = () => deps.recordings ?? unavailable();
  const extension = () => deps.extension ?? unavailable();
  return {
    'multiclaw.extension.pairingCode': async () => extension().issueCode(),
    'multiclaw.extension.list': async () => ({ items: extension().list() }),
    'multiclaw.extension.unpair': async ({ id }) => extension().unpair(id),
    'multiclaw.recordings.list': async () => ({ items: store().list() }),
    'multiclaw.recordings.get': async ({ id }) => ({ recording: await store().get(id) }),
    'multiclaw.recordings.export': async ({ id }) => {
      const { pairingId, ...recording } = await store().get(id);
      return { format: 'multiclaw.recording/1', recording };
    },
    'multiclaw.recordings.rename': async ({ id, name }) => ({ recording: await store().rename(id, name) }),
    'multiclaw.recordings.delete': async ({ id }) => store().delete(id),
    'multiclaw.recordings.attach': async ({ id, agentId }) => {
      // Only an agent this gateway knows: local, or a workspace agent from the link.
      findAgent(await deps.config.current(), agentId, deps.workspaceAgents);
      return { recording: await store().attach(id, agentId) };
    },
    'multiclaw.recordings.detach': async ({ id, agentId }) => ({
      recording: await store().detach(id, agentId),
    }),
  };
}

function unavailable(): never {
  throw new ApiError('SERVICE_UNAVAILABLE', 'Recordings are not available in this gateway');
}
