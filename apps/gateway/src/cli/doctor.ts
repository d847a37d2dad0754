import { join } from 'node:path';
import { inspectFileLock } from '@multiclaw/runtime/file-lock';
import { readConfigFile } from '../config/config-file.js';
import type { GatewayPaths } from '../config/paths.js';
import { findLoosePermissions, octal } from '../config/permissions.js';
import { ConfigError, type GatewayConfig } from '../config/schema.js';
import { findSymlinkedConfig } from '../config/symlinked-config.js';
import { originsFromProviders } from '../egress/egress.js';
import { endpoint } from '../providers/request.js';
import { findDamagedStoreFiles } from '../store/damage-scan.js';
import { checkCloudLink } from './doctor-link.js';
import { EXIT } from './exit-codes.js';
import { fetchGatewayStatus, localEgress } from './local-client.js';
import { portIsFree } from './port-probe.js';

interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

/** `doctor`: config validity, permissions, the port, and each provider's reachability. Exit 1 on any problem. */
export async function runDoctor(
  paths: GatewayPaths,
  options: { json: boolean; offline: boolean },
): Promise<number> {
  const checks: Check[] = [];
  let config: GatewayConfig | undefined;
  try {
    config = await readConfigFile(paths);
    checks.push(
      config
        ? { name: 'config', ok: true, detail: `${paths.configPath} is valid` }
        : {
            name: 'config',
            ok: false,
            detail: `${paths.configPath} does not exist (run "multiclaw-gateway start")`,
          },
    );
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    checks.push({ name: 'config', ok: false, detail: error.message });
  }

  const link = await findSymlinkedConfig(paths);
  if (link)
    checks.push({
      name: 'config file',
      ok: false,
      detail: `${link.path} is a symbolic link to ${link.target}${link.targetMode === undefined ? '' : ` (mode ${octal(link.targetMode)})`}: "start --strict" refuses it; "start" replaces it with a private copy, and the target keeps the token and API keys until you delete it`,
    });

  const loose = await findLoosePermissions(paths);
  checks.push(
    loose.length === 0
      ? { name: 'permissions', ok: true, detail: 'state directory 0700, files 0600' }
      : {
          name: 'permissions',
          ok: false,
          detail: `${loose.map((entry) => `${entry.path} is ${octal(entry.mode)} (want ${octal(entry.expected)})`).join('; ')} — "start" repairs these`,
        },
  );

  checks.push(await checkStore(paths));
  checks.push(await checkStoreLock(paths));
  checks.push(await checkCloudLink(paths, options));

  if (config) {
    checks.push(await checkPort(config));
    if (!options.offline) {
      for (const [id, provider] of Object.entries(config.models.providers))
        checks.push(await checkProvider(id, provider));
    }
  }

  if (options.json)
    process.stdout.write(`${JSON.stringify({ ok: checks.every((check) => check.ok), checks })}\n`);
  else
    for (const check of checks)
      process.stdout.write(`${check.ok ? 'ok     ' : 'PROBLEM'}  ${check.name}: ${check.detail}\n`);
  return checks.every((check) => check.ok) ? EXIT.OK : EXIT.PROBLEMS;
}

/** Damaged store files, named: sessions.log and idempotency.log stop `start`; a conversation's log only that conversation. */
async function checkStore(paths: GatewayPaths): Promise<Check> {
  const damaged = await findDamagedStoreFiles(paths.storeDir);
  if (damaged.length === 0)
    return { name: 'store', ok: true, detail: `no damaged files in ${paths.storeDir}` };
  return {
    name: 'store',
    ok: false,
    detail: damaged
      .map(
        (file) =>
          `${file.path} is damaged: ${file.detail}${file.blocksStart ? ' (the gateway cannot start: move it aside, keeping a copy, to start without it)' : ' (that conversation cannot be read; the others are fine)'}`,
      )
      .join('; '),
  };
}

/** Who holds store.lock: a running gateway, nobody, or a stale lock that `start` will take over. */
async function checkStoreLock(paths: GatewayPaths): Promise<Check> {
  const path = join(paths.storeDir, 'store.lock');
  const lock = await inspectFileLock(path);
  const pid = lock.state === 'free' ? undefined : lock.owner?.pid;
  const detail = {
    free: 'no gateway holds the store',
    running: `held by a running gateway (process ${pid})`,
    dead: `${path} is stale (process ${pid} no longer runs); "start" takes it over`,
    reused: `${path} is stale (process ${pid} is now another program, not the gateway that wrote it); "start" takes it over`,
    unwritten: `${path} names no owner; "start" takes it over once it is 5 seconds old`,
  }[lock.state];
  return { name: 'store lock', ok: true, detail };
}

async function checkPort(config: GatewayConfig): Promise<Check> {
  const { port } = config.gateway;
  const probe = await fetchGatewayStatus(config);
  if (probe.state === 'running')
    return {
      name: 'port',
      ok: true,
      detail: `${port} is served by a running gateway (pid ${probe.status.pid})`,
    };
  if (probe.state === 'refusing') return { name: 'port', ok: false, detail: `${port}: ${probe.reason}` };
  if (probe.state === 'other program')
    return { name: 'port', ok: false, detail: `${probe.reason}; set gateway.port` };
  const host = config.gateway.bind === 'loopback' ? '127.0.0.1' : config.gateway.bind;
  return (await portIsFree(port, host))
    ? { name: 'port', ok: true, detail: `${port} is free` }
    : { name: 'port', ok: false, detail: `${port} is in use by another program; set gateway.port` };
}

/** Any HTTP answer means reachable; 401/403 means reachable with a rejected key. */
async function checkProvider(
  id: string,
  provider: GatewayConfig['models']['providers'][string],
): Promise<Check> {
  const name = `provider ${id}`;
  const headers: Record<string, string> = {};
  if (provider.api === 'anthropic-messages') {
    headers['anthropic-version'] = '2023-06-01';
    if (provider.apiKey) headers['x-api-key'] = provider.apiKey;
  } else if (provider.apiKey) {
    headers.authorization = `Bearer ${provider.apiKey}`;
  }
  const url = endpoint(provider.baseUrl, provider.api === 'anthropic-messages' ? '/v1/models' : '/models');
  try {
    const response = await localEgress(originsFromProviders({ [id]: provider })).fetch(url, {
      headers,
      signal: AbortSignal.timeout(5_000),
    });
    await response.body?.cancel();
    if (response.status === 401 || response.status === 403) {
      return {
        name,
        ok: false,
        detail: `${provider.baseUrl} is reachable but rejected the API key (HTTP ${response.status})`,
      };
    }
    return { name, ok: true, detail: `${provider.baseUrl} answered HTTP ${response.status}` };
  } catch (error) {
    return { name, ok: false, detail: `${provider.baseUrl} is unreachable (${(error as Error).message})` };
  }
}
