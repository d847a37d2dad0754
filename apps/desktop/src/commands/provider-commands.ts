import type { ConfigFile, GatewayConfig } from '@multiclaw/gateway/client';
import { ApiError, type DesktopProvider } from '@multiclaw/protocol';
import type { CommandHandlers } from '../ipc/registry.js';

type StoredProvider = GatewayConfig['models']['providers'][string];

/**
 * Model providers and their keys, in openclaw.json through the gateway's own
 * config file API (locked read-modify-write, atomic, 0600): the gateway has
 * no control-protocol method for them and picks up each change from the file.
 * A key goes in and never comes out: every answer says only `hasKey`.
 */
export function providerCommands(
  config: ConfigFile,
): Pick<
  CommandHandlers,
  | 'providers.list'
  | 'providers.add'
  | 'providers.replaceKey'
  | 'providers.clearKey'
  | 'providers.scope'
  | 'providers.remove'
> {
  /** Changes one existing provider and answers its new view. */
  const change = async (id: string, edit: (provider: StoredProvider) => StoredProvider) => {
    const next = await config.update((current) => {
      const provider = current.models.providers[id];
      if (!provider || !Object.hasOwn(current.models.providers, id))
        throw new ApiError('NOT_FOUND', `No provider "${id}" is configured`);
      return withProviders(current, { ...current.models.providers, [id]: edit(provider) });
    });
    return { provider: viewOf(id, next.models.providers[id] as StoredProvider) };
  };

  return {
    'providers.list': async () => ({
      providers: Object.entries((await config.current()).models.providers).map(([id, provider]) =>
        viewOf(id, provider),
      ),
    }),
    'providers.add': async ({ id, api, baseUrl, apiKey, allowedAgents }) => {
      const next = await config.update((current) => {
        if (Object.hasOwn(current.models.providers, id))
          throw new ApiError('DESKTOP_PROVIDER_EXISTS', `A provider "${id}" is configured already`);
        const provider: StoredProvider = { api, baseUrl, allowedAgents, ...(apiKey ? { apiKey } : {}) };
        return withProviders(current, { ...current.models.providers, [id]: provider });
      });
      return { provider: viewOf(id, next.models.providers[id] as StoredProvider) };
    },
    'providers.replaceKey': ({ id, apiKey }) => change(id, (provider) => ({ ...provider, apiKey })),
    'providers.clearKey': ({ id }) => change(id, ({ apiKey: _dropped, ...provider }) => provider),
    'providers.scope': ({ id, allowedAgents }) =>
      change(id, (provider) => ({ ...provider, allowedAgents: [...new Set(allowedAgents)] })),
    'providers.remove': async ({ id }) => {
      await config.update((current) => {
        if (!Object.hasOwn(current.models.providers, id))
          throw new ApiError('NOT_FOUND', `No provider "${id}" is configured`);
        const users = current.agents.list.filter((agent) => agent.model.startsWith(`${id}/`));
        if (users.length > 0)
          throw new ApiError(
            'DESKTOP_PROVIDER_IN_USE',
            `Provider "${id}" is the model of ${users.map((agent) => agent.name).join(', ')}; change or delete those agents first`,
          );
        const { [id]: _removed, ...rest } = current.models.providers;
        return withProviders(current, rest);
      });
      return { id };
    },
  };
}

function withProviders(
  config: GatewayConfig,
  providers: GatewayConfig['models']['providers'],
): GatewayConfig {
  return { ...config, models: { ...config.models, providers } };
}

/** The only shape a provider leaves the host in: no key, whether it has one. */
function viewOf(id: string, provider: StoredProvider): DesktopProvider {
  return {
    id,
    api: provider.api,
    baseUrl: provider.baseUrl,
    hasKey: provider.apiKey !== undefined,
    allowedAgents: provider.allowedAgents,
  };
}
