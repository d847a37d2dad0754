import type { CommandHandlers } from '../ipc/registry.js';
import { type AgentCommandDeps, agentCommands } from './agent-commands.js';
import { chatCommands } from './chat-commands.js';
import { type CloudCommandDeps, cloudAccountCommands } from './cloud-account-commands.js';
import { cloudWorkspaceCommands } from './cloud-workspace-commands.js';
import { type GatewayCommandDeps, gatewayCommands } from './gateway-commands.js';
import { providerCommands } from './provider-commands.js';
import { recordingCommands } from './recording-commands.js';
import { type SettingsCommandDeps, settingsCommands } from './settings-commands.js';
import { updateCommands } from './update-commands.js';

export type CommandDeps = GatewayCommandDeps & AgentCommandDeps & SettingsCommandDeps & CloudCommandDeps;

/** Every command's handler, by feature; `CommandHandlers` makes a missing one a compile error. */
export function commandHandlers(deps: CommandDeps): CommandHandlers {
  return {
    ...gatewayCommands(deps),
    ...agentCommands(deps),
    ...providerCommands(deps.config),
    ...chatCommands(deps),
    ...settingsCommands(deps),
    ...updateCommands(deps),
    ...recordingCommands(deps),
    ...cloudAccountCommands(deps),
    ...cloudWorkspaceCommands(deps),
  };
}
