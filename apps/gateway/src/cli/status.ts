import { GatewaySyncStatus } from '@multiclaw/protocol';
import { readConfigFile } from '../config/config-file.js';
import type { GatewayPaths } from '../config/paths.js';
import { ConfigError } from '../config/schema.js';
import type { LinkStatus } from '../link/cloud-link.js';
import { identityPaths } from '../link/identity.js';
import { storedLinkStatus } from '../link/stored-status.js';
import { EXIT } from './exit-codes.js';
import { fetchGatewayStatus, localGatewayOrigin } from './local-client.js';

/** `status`: is a gateway running for this config? Exit 0 when it serves us, 4 when it refuses us, 3 when none runs. */
export async function runStatus(paths: GatewayPaths, options: { json: boolean }): Promise<number> {
  let config: Awaited<ReturnType<typeof readConfigFile>>;
  try {
    config = await readConfigFile(paths);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      return EXIT.CONFIG;
    }
    throw error;
  }
  if (!config) {
    const link = await storedLinkStatus(identityPaths(paths.stateDir));
    const result = {
      running: false,
      reason: `no config at ${paths.configPath} (run "multiclaw-gateway start")`,
      link,
    };
    process.stdout.write(
      options.json ? `${JSON.stringify(result)}\n` : `not running: ${result.reason}\n${linkLine(link)}\n`,
    );
    return EXIT.NOT_RUNNING;
  }
  const result = await fetchGatewayStatus(config);
  // The running gateway says how its link is; without one, the files say what it would be.
  const reported = result.state === 'running' ? (result.status.link as LinkStatus | undefined) : undefined;
  const link = reported ?? (await storedLinkStatus(identityPaths(paths.stateDir)));
  const sync = result.state === 'running' ? GatewaySyncStatus.safeParse(result.status.sync).data : undefined;
  if (options.json) {
    process.stdout.write(
      `${JSON.stringify({ ...result, url: localGatewayOrigin(config), link, ...(sync ? { sync } : {}) })}\n`,
    );
  } else if (result.state === 'running') {
    const { version, pid, uptimeMs, agents } = result.status;
    process.stdout.write(
      `running on ${localGatewayOrigin(config)}: version ${version}, pid ${pid}, up ${Math.round(Number(uptimeMs) / 1000)} s, ${agents} agent(s)\n`,
    );
  } else if (result.state === 'refusing') {
    process.stdout.write(
      `running on ${localGatewayOrigin(config)} but refusing this CLI: ${result.reason}\n`,
    );
  } else {
    process.stdout.write(`not running: ${result.reason}\n`);
  }
  if (!options.json) process.stdout.write(`${linkLine(link)}\n`);
  if (!options.json && sync && sync.state !== 'not linked') process.stdout.write(`${syncLine(sync)}\n`);
  if (result.state === 'running') return EXIT.OK;
  return result.state === 'refusing' ? EXIT.REFUSED : EXIT.NOT_RUNNING;
}

function linkLine(link: LinkStatus): string {
  if (link.state === 'not linked')
    return 'cloud link: not linked (multiclaw-gateway link --cloud URL --code CODE)';
  const where = ` to workspace ${link.workspaceId} at ${link.cloudUrl} (gateway ${link.gatewayId})`;
  return `cloud link: ${link.state}${where}${link.reason ? `: ${link.reason}` : ''}`;
}

function syncLine(sync: GatewaySyncStatus): string {
  const pending = `${sync.pending} message(s) in ${sync.pendingConversations} conversation(s) waiting`;
  return `transcript sync: ${sync.state}, ${pending}${sync.lastAckAt ? `; last acknowledged ${sync.lastAckAt}` : ''}`;
}
