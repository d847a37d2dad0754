/**
 * A real gateway process for the reply kill tests: a state directory whose
 * config points the agent `writer` at a (parent-side) fake provider, and a
 * child running `gateway-start.ts` on it that can be SIGKILLed or SIGTERMed.
 */
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigFile } from '../../src/config/config-file.js';
import { resolveGatewayPaths } from '../../src/config/paths.js';
import { spawnTs, type TsChild } from './harness.js';

export const PROVIDER_KEY = 'sk-crash-test-provider-key';

/** A fresh state directory under `root`; returns it with the gateway token. */
export async function prepareStateDir(root: string, providerBaseUrl: string) {
  const stateDir = await mkdtemp(join(root, 'gateway-'));
  const config = await ConfigFile.open(resolveGatewayPaths({ OPENCLAW_STATE_DIR: stateDir }));
  await config.update((current) => ({
    ...current,
    agents: { list: [{ id: 'writer', name: 'Writer', model: 'up/model-x' }] },
    models: {
      providers: {
        up: {
          api: 'openai-completions',
          baseUrl: providerBaseUrl,
          apiKey: PROVIDER_KEY,
          allowedAgents: ['writer'],
        },
      },
    },
  }));
  return { stateDir, token: config.cached().gateway.auth.token };
}

export interface GatewayChild {
  child: TsChild;
  url: string;
}

/** Starts the gateway on `stateDir` and resolves once it listens. */
export async function startGatewayChild(stateDir: string): Promise<GatewayChild> {
  const child = spawnTs('gateway-start.ts', [stateDir]);
  const line = await child.waitForLine((text) => text.includes('MultiClaw gateway listening on'));
  return { child, url: (JSON.parse(line) as { url: string }).url };
}
