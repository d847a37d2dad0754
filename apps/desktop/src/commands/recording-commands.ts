import {
  ExtensionPairingSummary,
  PairingCode,
  Recording,
  RecordingExport,
  RecordingSummary,
} from '@multiclaw/protocol';
import { z } from 'zod';
import type { GatewayConnection } from '../gateway/gateway-connection.js';
import type { CommandHandlers } from '../ipc/registry.js';
import { saveForPerson } from '../system/saved-files.js';

export interface RecordingCommandDeps {
  gateway: GatewayConnection;
  env: NodeJS.ProcessEnv;
}

type RecordingCommand =
  | 'recordings.list'
  | 'recordings.get'
  | 'recordings.rename'
  | 'recordings.delete'
  | 'recordings.attach'
  | 'recordings.detach'
  | 'recordings.export'
  | 'extension.pairingCode'
  | 'extension.list'
  | 'extension.unpair';

const Items = z.object({ items: z.array(RecordingSummary) });
const One = z.object({ recording: Recording });
const Changed = z.object({ recording: RecordingSummary });

/**
 * Recordings and the extension's pairing, through the gateway's control
 * protocol (`multiclaw.recordings.*`, `multiclaw.extension.*`): the gateway
 * keeps both; the host only relays, and writes an export where the person can
 * find it.
 */
export function recordingCommands(deps: RecordingCommandDeps): Pick<CommandHandlers, RecordingCommand> {
  const call = (method: string, params?: unknown) => deps.gateway.call(method, params);
  return {
    'recordings.list': async () => Items.parse(await call('multiclaw.recordings.list')),
    'recordings.get': async ({ id }) => One.parse(await call('multiclaw.recordings.get', { id })),
    'recordings.rename': async ({ id, name }) =>
      Changed.parse(await call('multiclaw.recordings.rename', { id, name })),
    'recordings.delete': async ({ id }) => {
      await call('multiclaw.recordings.delete', { id });
      return { deleted: true as const };
    },
    'recordings.attach': async ({ id, agentId }) =>
      Changed.parse(await call('multiclaw.recordings.attach', { id, agentId })),
    'recordings.detach': async ({ id, agentId }) =>
      Changed.parse(await call('multiclaw.recordings.detach', { id, agentId })),
    'recordings.export': async ({ id }) => {
      const exported = RecordingExport.parse(await call('multiclaw.recordings.export', { id }));
      const path = await saveForPerson(
        deps.env,
        {
          stem: exported.recording.name || 'recording',
          unique: id.slice(0, 8),
          suffix: '.multiclaw-recording.json',
        },
        `${JSON.stringify(exported, null, 2)}\n`,
      );
      return { path };
    },
    'extension.pairingCode': async () => PairingCode.parse(await call('multiclaw.extension.pairingCode')),
    'extension.list': async () =>
      z.object({ items: z.array(ExtensionPairingSummary) }).parse(await call('multiclaw.extension.list')),
    'extension.unpair': async ({ id }) =>
      z.object({ revoked: z.boolean() }).parse(await call('multiclaw.extension.unpair', { id })),
  };
}
