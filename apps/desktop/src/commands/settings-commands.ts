import type { ConfigFile, GatewayPaths } from '@multiclaw/gateway/client';
import type { DesktopSettings } from '@multiclaw/protocol';
import { listCrashLogs } from '@multiclaw/runtime/crash-log';
import type { CommandHandlers } from '../ipc/registry.js';
import type { SettingsStore } from '../state/settings-store.js';

export interface SettingsCommandDeps {
  settings: SettingsStore;
  /** openclaw.json: the gateway's allowed origins live there. */
  config: ConfigFile;
  gatewayPaths: GatewayPaths;
  crashDir: string;
}

/** The desktop's settings (its own file) and the gateway's allowed origins (openclaw.json); where crash logs are. */
export function settingsCommands(
  deps: SettingsCommandDeps,
): Pick<CommandHandlers, 'settings.get' | 'settings.update' | 'diagnostics.crashLogs'> {
  const current = async (): Promise<DesktopSettings> => ({
    ...(await deps.settings.read()),
    gatewayAllowedOrigins: (await deps.config.current()).gateway.allowedOrigins,
  });
  return {
    'settings.get': current,
    'settings.update': async ({ gatewayAllowedOrigins, cloudUrl, localOnly }) => {
      if (cloudUrl !== undefined || localOnly !== undefined)
        await deps.settings.update({
          ...(cloudUrl === undefined ? {} : { cloudUrl }),
          ...(localOnly === undefined ? {} : { localOnly }),
        });
      if (gatewayAllowedOrigins)
        await deps.config.update((config) => ({
          ...config,
          gateway: { ...config.gateway, allowedOrigins: [...new Set(gatewayAllowedOrigins)] },
        }));
      return current();
    },
    'diagnostics.crashLogs': async () => ({
      desktop: { dir: deps.crashDir, files: listCrashLogs(deps.crashDir) },
      gateway: { dir: deps.gatewayPaths.crashDir, files: listCrashLogs(deps.gatewayPaths.crashDir) },
    }),
  };
}
